-- Auto-generated file. Do not edit! Made by bench/suite_to_specs from the
-- benchmark suite (suite.txt) line:
--   resnet50_pw_s2 512 28 28 1024 1 1 2 0 1
conv2d {
  name = "bench_resnet50_pw_s2",
  input = { channels = 512, height = 28, width = 28 },
  filters = 1024,
  kernel = { height = 1, width = 1 },
  stride = 2,
  padding = 0,
  groups = 1,
  bias = true,
  activation = "none",
}
