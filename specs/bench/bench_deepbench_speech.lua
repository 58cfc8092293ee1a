-- Auto-generated file. Do not edit! Made by bench/suite_to_specs from the
-- benchmark suite (suite.txt) line:
--   deepbench_speech 1 161 700 32 5 20 2 0 1
conv2d {
  name = "bench_deepbench_speech",
  input = { channels = 1, height = 161, width = 700 },
  filters = 32,
  kernel = { height = 5, width = 20 },
  stride = 2,
  padding = 0,
  groups = 1,
  bias = true,
  activation = "none",
}
