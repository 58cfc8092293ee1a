-- Auto-generated file. Do not edit! Made by bench/suite_to_specs from the
-- benchmark suite (suite.txt) line:
--   resnet18_512 512 7 7 512 3 3 1 1 1
conv2d {
  name = "bench_resnet18_512",
  input = { channels = 512, height = 7, width = 7 },
  filters = 512,
  kernel = { height = 3, width = 3 },
  stride = 1,
  padding = 1,
  groups = 1,
  bias = true,
  activation = "none",
}
