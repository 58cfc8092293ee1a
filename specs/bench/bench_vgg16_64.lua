-- Auto-generated file. Do not edit! Made by bench/suite_to_specs from the
-- benchmark suite (suite.txt) line:
--   vgg16_64 64 224 224 64 3 3 1 1 1
conv2d {
  name = "bench_vgg16_64",
  input = { channels = 64, height = 224, width = 224 },
  filters = 64,
  kernel = { height = 3, width = 3 },
  stride = 1,
  padding = 1,
  groups = 1,
  bias = true,
  activation = "none",
}
