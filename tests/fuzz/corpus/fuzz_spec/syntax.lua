conv2d {
  name = "a",
  kernel = = 3,
}
