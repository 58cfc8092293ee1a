conv2d { name = "a", input = { channels = 4, hieght = 8, width = 8 }, filters = 4, kernel = 3 }
