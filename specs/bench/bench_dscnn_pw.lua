-- Auto-generated file. Do not edit! Made by bench/suite_to_specs from the
-- benchmark suite (suite.txt) line:
--   dscnn_pw 64 25 5 64 1 1 1 0 1
conv2d {
  name = "bench_dscnn_pw",
  input = { channels = 64, height = 25, width = 5 },
  filters = 64,
  kernel = { height = 1, width = 1 },
  stride = 1,
  padding = 0,
  groups = 1,
  bias = true,
  activation = "none",
}
