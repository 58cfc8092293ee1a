-- Auto-generated file. Do not edit! Made by bench/suite_to_specs from the
-- benchmark suite (suite.txt) line:
--   mbv1_pw 32 112 112 64 1 1 1 0 1
conv2d {
  name = "bench_mbv1_pw",
  input = { channels = 32, height = 112, width = 112 },
  filters = 64,
  kernel = { height = 1, width = 1 },
  stride = 1,
  padding = 0,
  groups = 1,
  bias = true,
  activation = "none",
}
