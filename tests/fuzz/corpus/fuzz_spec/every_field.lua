conv2d { name = "every", batch = 2, input = { channels = 6, height = 9, width = 7 },
  filters = 4, groups = 2, kernel = { height = 3, width = 2 }, stride = 2, dilation = 1,
  padding = "same", bias = false, activation = "leaky_relu", alpha = 0.2, layout = "nchw",
  code_budget = 300, tile = { filters = 2, rows = 2, vectors = 1 }, packed_kernel = "tiled" }
