-- Auto-generated file. Do not edit! Made by bench/suite_to_specs from the
-- benchmark suite (suite.txt) line:
--   dscnn_conv1 1 49 10 64 10 4 2 same 1
conv2d {
  name = "bench_dscnn_conv1",
  input = { channels = 1, height = 49, width = 10 },
  filters = 64,
  kernel = { height = 10, width = 4 },
  stride = 2,
  padding = "same",
  groups = 1,
  bias = true,
  activation = "none",
}
