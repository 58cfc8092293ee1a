conv2d { name = "a", input = { channels = 1, height = 1, width = 1 }, filters = 1, kernel = 1, stride = 2147483647, padding = 2147483647 }
