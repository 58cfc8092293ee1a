-- ResNet-50 (He et al. 2016; torchvision's v1.5, stride on the 3x3), every
-- convolution of the network at 224x224 with batch norm folded into the
-- bias: 53 layers. Used by tests/test_limits.c as a large real spec.
local function conv(name, c, hw, f, k, s, p, act)
  conv2d { name = name, input = { channels = c, height = hw, width = hw },
           filters = f, kernel = k, stride = s, padding = p,
           activation = act or "relu" }
end

conv("r50_conv1", 3, 224, 64, 7, 2, 3)
local c, hw = 64, 56   -- after the 3x3 stride-2 max pool
for stage, cfg in ipairs({ { 64, 3 }, { 128, 4 }, { 256, 6 }, { 512, 3 } }) do
  local width, blocks = cfg[1], cfg[2]
  for b = 1, blocks do
    local s = (b == 1 and stage > 1) and 2 or 1
    local out = hw // s
    local p = string.format("r50_s%d_b%d_", stage, b)
    conv(p .. "reduce", c, hw, width, 1, 1, 0)
    conv(p .. "conv3x3", width, hw, width, 3, s, 1)
    conv(p .. "expand", width, out, width * 4, 1, 1, 0, "none")
    if b == 1 then conv(p .. "down", c, hw, width * 4, 1, s, 0, "none") end
    c, hw = width * 4, out
  end
end
