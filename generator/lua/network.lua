-- network: the static memory plan of a chain of layers.
--
-- Layer i reads activation i-1 and writes activation i; activation 0 is
-- the caller's input and the last one the caller's output. The ones in
-- between live in the caller's scratch buffer. A layer needs its input
-- and its output at once and nothing else, so the plan puts the
-- activations alternately at the start and at the end of scratch: each
-- then overlaps only activations already consumed. The scratch size is
-- the largest pair of consecutive activations, which no plan without
-- in-place layers can beat. Offsets are rounded up to 16 floats (64
-- bytes, a cache line and an AVX-512 vector).

local shape = import "shape"

local M = {}

local ALIGN = 16

local function round_up(n) return (n + ALIGN - 1) // ALIGN * ALIGN end

-- layers: the resolved layers of one network, in order. Returns
-- { input, output = element counts of the network's input and output,
--   scratch = floats of scratch, at = { [i] = offset in scratch of the
--   output of layer i, for every layer but the last },
--   naive = floats of every activation in a buffer of its own (input and
--   output included), peak = input + output + scratch }.
function M.plan(layers)
  local n = #layers
  local size = {}
  for i, L in ipairs(layers) do size[i] = shape.sizes(L).output end
  local P = { input = shape.sizes(layers[1]).input, output = size[n], at = {} }
  local scratch = 0
  for i = 1, n - 1 do
    local pair = round_up(size[i]) + (i + 1 < n and round_up(size[i + 1]) or 0)
    scratch = math.max(scratch, pair)
  end
  for i = 1, n - 1 do
    P.at[i] = i % 2 == 1 and 0 or scratch - round_up(size[i])
  end
  P.scratch = scratch
  P.naive = P.input
  for i = 1, n do P.naive = P.naive + size[i] end
  P.peak = P.input + P.output + scratch
  return P
end

return M
