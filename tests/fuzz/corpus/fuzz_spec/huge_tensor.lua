conv2d { name = "a", input = { channels = 4096, height = 1024, width = 1024 }, filters = 1, kernel = 1 }
