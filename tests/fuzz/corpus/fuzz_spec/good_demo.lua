-- The example from the project's notes: a 1x200x200 image and one 10x10
-- filter with "same" padding: (1*10*10 + 1) * 1 = 101 parameters and
-- 1*200*200*1*10*10 = 4,000,000 multiply-adds.
conv2d {
  name = "demo",
  input = { channels = 1, height = 200, width = 200 },
  filters = 1,
  kernel = 10,
  padding = "same",
}
