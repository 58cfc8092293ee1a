-- Auto-generated file. Do not edit! Made by bench/suite_to_specs from the
-- benchmark suite (suite.txt) line:
--   resnet8_c2 32 16 16 64 3 3 2 1 1
conv2d {
  name = "bench_resnet8_c2",
  input = { channels = 32, height = 16, width = 16 },
  filters = 64,
  kernel = { height = 3, width = 3 },
  stride = 2,
  padding = 1,
  groups = 1,
  bias = true,
  activation = "none",
}
