-- LeNet-5, layer C1 (LeCun et al. 1998): a 32x32 grey image, six 5x5
-- feature maps, no padding (28x28 out), tanh squashing.
conv2d {
  name = "lenet5_c1",
  input = { channels = 1, height = 32, width = 32 },
  filters = 6,
  kernel = 5,
  activation = "tanh",
}
