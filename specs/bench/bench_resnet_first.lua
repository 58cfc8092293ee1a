-- Auto-generated file. Do not edit! Made by bench/suite_to_specs from the
-- benchmark suite (suite.txt) line:
--   resnet_first 3 224 224 64 7 7 2 3 1
conv2d {
  name = "bench_resnet_first",
  input = { channels = 3, height = 224, width = 224 },
  filters = 64,
  kernel = { height = 7, width = 7 },
  stride = 2,
  padding = 3,
  groups = 1,
  bias = true,
  activation = "none",
}
