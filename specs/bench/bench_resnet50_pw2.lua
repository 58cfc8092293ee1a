-- Auto-generated file. Do not edit! Made by bench/suite_to_specs from the
-- benchmark suite (suite.txt) line:
--   resnet50_pw2 256 14 14 1024 1 1 1 0 1
conv2d {
  name = "bench_resnet50_pw2",
  input = { channels = 256, height = 14, width = 14 },
  filters = 1024,
  kernel = { height = 1, width = 1 },
  stride = 1,
  padding = 0,
  groups = 1,
  bias = true,
  activation = "none",
}
