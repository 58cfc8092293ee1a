-- Auto-generated file. Do not edit! Made by bench/suite_to_specs from the
-- benchmark suite (suite.txt) line:
--   vww_first 3 96 96 8 3 3 2 1 1
conv2d {
  name = "bench_vww_first",
  input = { channels = 3, height = 96, width = 96 },
  filters = 8,
  kernel = { height = 3, width = 3 },
  stride = 2,
  padding = 1,
  groups = 1,
  bias = true,
  activation = "none",
}
