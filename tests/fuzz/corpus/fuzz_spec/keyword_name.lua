conv2d { name = "while", input = { channels = 4, height = 8, width = 8 }, filters = 4, kernel = 3 }
