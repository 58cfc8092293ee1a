-- ResNet-18, conv2_x: 64 channels at 56x56, 3x3, stride 1, padding 1.
-- torchvision puts batch norm between the convolution and the ReLU and has
-- no convolution bias; here the folded form: bias and ReLU fused.
conv2d {
  name = "resnet18_conv2_x",
  input = { channels = 64, height = 56, width = 56 },
  filters = 64,
  kernel = 3,
  padding = 1,
  activation = "relu",
}
