-- Auto-generated file. Do not edit! Made by bench/suite_to_specs from the
-- benchmark suite (suite.txt) line:
--   mbv1_dw 32 112 112 32 3 3 1 1 32
conv2d {
  name = "bench_mbv1_dw",
  input = { channels = 32, height = 112, width = 112 },
  filters = 32,
  kernel = { height = 3, width = 3 },
  stride = 1,
  padding = 1,
  groups = 32,
  bias = true,
  activation = "none",
}
