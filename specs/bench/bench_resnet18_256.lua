-- Auto-generated file. Do not edit! Made by bench/suite_to_specs from the
-- benchmark suite (suite.txt) line:
--   resnet18_256 256 14 14 256 3 3 1 1 1
conv2d {
  name = "bench_resnet18_256",
  input = { channels = 256, height = 14, width = 14 },
  filters = 256,
  kernel = { height = 3, width = 3 },
  stride = 1,
  padding = 1,
  groups = 1,
  bias = true,
  activation = "none",
}
