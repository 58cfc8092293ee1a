-- Auto-generated file. Do not edit! Made by bench/suite_to_specs from the
-- benchmark suite (suite.txt) line:
--   resnet8_c1 16 32 32 16 3 3 1 1 1
conv2d {
  name = "bench_resnet8_c1",
  input = { channels = 16, height = 32, width = 32 },
  filters = 16,
  kernel = { height = 3, width = 3 },
  stride = 1,
  padding = 1,
  groups = 1,
  bias = true,
  activation = "none",
}
