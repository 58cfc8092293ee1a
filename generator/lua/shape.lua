-- shape: all of convgen's shape arithmetic, in one place.
--
-- Per axis, an input of n pixels, a kernel of k taps with dilation d and
-- stride s, padded by pb before and pe after, gives
--     out = (n + pb + pe - d*(k-1) - 1) // s + 1
-- outputs. Output o reads input pixels o*s - pb + t*d for taps t = 0..k-1;
-- the taps that land inside [0, n) form one contiguous range, which is what
-- lets the generator resolve borders at generation time.

local M = {}

-- Output size along one axis; may be < 1 when the kernel does not fit.
function M.out_size(n, k, s, d, pb, pe)
  return (n + pb + pe - d * (k - 1) - 1) // s + 1
end

-- "same" padding as TensorFlow computes it: out = ceil(n / s), and the odd
-- pixel of the total padding goes after (bottom/right).
function M.same_padding(n, k, s, d)
  local out = (n + s - 1) // s
  local total = math.max((out - 1) * s + d * (k - 1) + 1 - n, 0)
  local before = total // 2
  return before, total - before
end

local function ceil_div(a, b) return -((-a) // b) end

-- The taps t in [t0, t1) of output o that read inside the input.
-- The range is empty (t0 >= t1) when o only sees padding.
function M.tap_range(o, n, k, s, d, pb)
  local start = o * s - pb
  local t0 = math.max(0, ceil_div(-start, d))
  local t1 = math.min(k, (n - 1 - start) // d + 1)
  if t1 < t0 then t1 = t0 end
  return t0, t1
end

-- Split outputs 0..out-1 into maximal runs that share one tap range.
-- Returns a list of { o0 = first, o1 = one past last, t0 = , t1 = }.
function M.axis_classes(n, k, s, d, pb, out)
  local classes = {}
  local cur
  for o = 0, out - 1 do
    local t0, t1 = M.tap_range(o, n, k, s, d, pb)
    if cur and cur.t0 == t0 and cur.t1 == t1 then
      cur.o1 = o + 1
    else
      cur = { o0 = o, o1 = o + 1, t0 = t0, t1 = t1 }
      classes[#classes + 1] = cur
    end
  end
  return classes
end

-- The weight tensor's dimensions in the layer's layout (the one place
-- that knows it): NCHW layers take PyTorch's [F][C/groups][KH][KW], NHWC
-- layers TensorFlow Lite's [F][KH][KW][C/groups].
function M.weight_dims(L)
  if L.layout == "nhwc" then
    return { L.filters, L.kernel_h, L.kernel_w, L.channels // L.groups }
  end
  return { L.filters, L.channels // L.groups, L.kernel_h, L.kernel_w }
end

-- Element counts of a resolved layer's tensors.
function M.sizes(L)
  local cpg = L.channels // L.groups
  local s = {
    input = L.batch * L.channels * L.height * L.width,
    weights = L.filters * cpg * L.kernel_h * L.kernel_w,
    bias = L.bias and L.filters or 0,
    output = L.batch * L.filters * L.out_h * L.out_w,
  }
  s.packed = s.weights + s.bias   -- <name>_pack: weights, then bias
  return s
end

-- Learnable parameters, multiply-adds and flops of a resolved layer.
-- MACs count every tap, padding included, as the usual definition does:
-- N * F * OH * OW * (C / groups) * KH * KW.
function M.counts(L)
  local sz = M.sizes(L)
  local macs = L.batch * L.filters * L.out_h * L.out_w
             * (L.channels // L.groups) * L.kernel_h * L.kernel_w
  return { params = sz.weights + sz.bias, macs = macs, flops = 2 * macs }
end

return M
