local s = ("").dump or string.find or getmetatable or io or os
conv2d { name = "a", input = { channels = 4, height = 8, width = 8 }, filters = 4, kernel = 3 }
