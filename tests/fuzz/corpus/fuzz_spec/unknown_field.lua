conv2d { name = "a", input = { channels = 4, height = 8, width = 8 }, filters = 4, kernal = 3 }
