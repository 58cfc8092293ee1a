-- Auto-generated file. Do not edit! Made by bench/suite_to_specs from the
-- benchmark suite (suite.txt) line:
--   mbv1_first 3 224 224 32 3 3 2 1 1
conv2d {
  name = "bench_mbv1_first",
  input = { channels = 3, height = 224, width = 224 },
  filters = 32,
  kernel = { height = 3, width = 3 },
  stride = 2,
  padding = 1,
  groups = 1,
  bias = true,
  activation = "none",
}
