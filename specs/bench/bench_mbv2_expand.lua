-- Auto-generated file. Do not edit! Made by bench/suite_to_specs from the
-- benchmark suite (suite.txt) line:
--   mbv2_expand 24 56 56 144 1 1 1 0 1
conv2d {
  name = "bench_mbv2_expand",
  input = { channels = 24, height = 56, width = 56 },
  filters = 144,
  kernel = { height = 1, width = 1 },
  stride = 1,
  padding = 0,
  groups = 1,
  bias = true,
  activation = "none",
}
