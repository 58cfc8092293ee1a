-- Auto-generated file. Do not edit! Made by bench/suite_to_specs from the
-- benchmark suite (suite.txt) line:
--   resnet18_64s2 64 56 56 128 3 3 2 1 1
conv2d {
  name = "bench_resnet18_64s2",
  input = { channels = 64, height = 56, width = 56 },
  filters = 128,
  kernel = { height = 3, width = 3 },
  stride = 2,
  padding = 1,
  groups = 1,
  bias = true,
  activation = "none",
}
