-- MobileNet v1 (Howard et al. 2017), the first depthwise-separable block
-- after the stem: a 3x3 depthwise layer (groups = channels) and a 1x1
-- pointwise layer, both with ReLU6.
conv2d {
  name = "mobilenet_dw1",
  input = { channels = 32, height = 112, width = 112 },
  filters = 32,
  groups = 32,
  kernel = 3,
  padding = 1,
  activation = "relu6",
}

conv2d {
  name = "mobilenet_pw1",
  input = { channels = 32, height = 112, width = 112 },
  filters = 64,
  kernel = 1,
  activation = "relu6",
}
