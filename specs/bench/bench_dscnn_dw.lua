-- Auto-generated file. Do not edit! Made by bench/suite_to_specs from the
-- benchmark suite (suite.txt) line:
--   dscnn_dw 64 25 5 64 3 3 1 1 64
conv2d {
  name = "bench_dscnn_dw",
  input = { channels = 64, height = 25, width = 5 },
  filters = 64,
  kernel = { height = 3, width = 3 },
  stride = 1,
  padding = 1,
  groups = 64,
  bias = true,
  activation = "none",
}
