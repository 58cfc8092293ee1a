-- Auto-generated file. Do not edit! Made by bench/suite_to_specs from the
-- benchmark suite (suite.txt) line:
--   mbv1_pw_last 1024 7 7 1024 1 1 1 0 1
conv2d {
  name = "bench_mbv1_pw_last",
  input = { channels = 1024, height = 7, width = 7 },
  filters = 1024,
  kernel = { height = 1, width = 1 },
  stride = 1,
  padding = 0,
  groups = 1,
  bias = true,
  activation = "none",
}
