-- Auto-generated file. Do not edit! Made by bench/suite_to_specs from the
-- benchmark suite (suite.txt) line:
--   resnet18_64 64 56 56 64 3 3 1 1 1
conv2d {
  name = "bench_resnet18_64",
  input = { channels = 64, height = 56, width = 56 },
  filters = 64,
  kernel = { height = 3, width = 3 },
  stride = 1,
  padding = 1,
  groups = 1,
  bias = true,
  activation = "none",
}
