-- Auto-generated file. Do not edit! Made by bench/suite_to_specs from the
-- benchmark suite (suite.txt) line:
--   vgg16_256 256 56 56 256 3 3 1 1 1
conv2d {
  name = "bench_vgg16_256",
  input = { channels = 256, height = 56, width = 56 },
  filters = 256,
  kernel = { height = 3, width = 3 },
  stride = 1,
  padding = 1,
  groups = 1,
  bias = true,
  activation = "none",
}
