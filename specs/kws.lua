-- A keyword-spotting network in the style of DS-CNN (Zhang et al., "Hello
-- Edge: Keyword Spotting on Microcontrollers", 2017): 49 frames x 10 MFCC
-- features in, scores of 12 keywords out. A strided convolution, four
-- depthwise-separable blocks, an average over the 25x5 plane (a depthwise
-- convolution whose weights are all 1/125) and a fully connected layer
-- (a 1x1 convolution). The weights are random (examples/kws/make_weights.c
-- wrote them, He-scaled), so the scores mean nothing: the example shows
-- the shapes, the code and the memory plan, not a trained model.
--
--   bin/convgen info specs/kws.lua          shapes, counts, memory plan
--   bin/convgen check specs/kws.lua         every layer and the whole network
--   make example                            build and run examples/kws

local function dw(i)
  return conv2d { name = "kws_dw" .. i, filters = 64, groups = 64, kernel = 3,
                  padding = "same", activation = "relu",
                  weights = "kws/dw" .. i .. "_w.npy", bias_values = "kws/dw" .. i .. "_b.npy" }
end

local function pw(i)
  return conv2d { name = "kws_pw" .. i, filters = 64, kernel = 1, activation = "relu",
                  weights = "kws/pw" .. i .. "_w.npy", bias_values = "kws/pw" .. i .. "_b.npy" }
end

network {
  name = "kws",
  conv2d { name = "kws_conv1", input = { channels = 1, height = 49, width = 10 },
           filters = 64, kernel = { height = 10, width = 4 }, stride = 2,
           padding = "same", activation = "relu",
           weights = "kws/conv1_w.npy", bias_values = "kws/conv1_b.npy" },
  dw(1), pw(1), dw(2), pw(2), dw(3), pw(3), dw(4), pw(4),
  conv2d { name = "kws_pool", filters = 64, groups = 64,
           kernel = { height = 25, width = 5 }, bias = false,
           weights = "kws/pool_w.npy" },
  conv2d { name = "kws_fc", filters = 12, kernel = 1,
           weights = "kws/fc_w.npy", bias_values = "kws/fc_b.npy" },
}
