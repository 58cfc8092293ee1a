for i, c in ipairs({ 4, 8, 16 }) do
  conv2d { name = "l" .. i, input = { channels = c, height = 8, width = 8 }, filters = 2 * c, kernel = 3,
           stride = { height = 2, width = 1 }, dilation = 2, padding = { top = 1, left = 2 } }
end
