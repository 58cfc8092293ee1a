-- conv2d/generic/isa.lua: vector operations spelled as portable C99.
--
-- A "vector" is a float array of `lanes` elements and every operation is a
-- loop over its lanes with constant bounds, which an optimizing compiler
-- turns into SIMD code for whatever machine it targets, and which TinyCC
-- compiles as it is. Lanes outside [lo, hi) are never read: the bounds
-- themselves are the border masks.

local isa = {
  name = "generic",
  lanes = 8,
  stride2_shuffles = 2, -- shuffle-port operations per stride-2 vector (cost model)
  registers = 16,
  tinycc = true,        -- check can compile it in-process
  cpu = {},  -- what the CPU running the kernel needs (check runs it here)
  cflags = "",
  includes = { "#include <stddef.h>" },
}

function isa.prelude(L)
  if L.activation == "sigmoid" or L.activation == "tanh" then
    return { "#include <math.h>" }
  end
  return {}
end

-- Closes one tap: nothing to do in portable C.
function isa.tap_end()
  return {}
end

function isa.acc_init(name, init)
  return string.format("float %s[%d]; for (int l = 0; l < %d; ++l) %s[l] = %s;",
                       name, isa.lanes, isa.lanes, name, init)
end

-- Load lanes [0, n) of name from y[off + l * stride] (partial sums of an
-- earlier channel block; stride nil means 1); the other lanes are never
-- stored.
function isa.acc_load(name, y, off, n, stride)
  local at = (stride or 1) == 1 and " + l" or (" + l * " .. stride)
  return { string.format("for (int l = 0; l < %d; ++l) %s[l] = %s[%s%s];", n, name, y, off, at) }
end

-- Declare w0 .. w(n-1) = base[offs[j]].
function isa.broadcast(n, base, offs)
  local parts = {}
  for j = 0, n - 1 do parts[#parts + 1] = string.format("w%d = %s[%d]", j, base, offs[j]) end
  return { "const float " .. table.concat(parts, ", ") .. ";" }
end

local function index(base, off, stride)
  local s = base .. (off >= 0 and " + " or " - ") .. math.abs(off)
  if stride == 1 then return s .. " + l" end
  return s .. " + l * " .. stride
end

-- Lanes [lo, hi) of the vector at x[xi + off + l * stride], times w_j,
-- added into targets[j].
function isa.load_fma(x, xi, off, stride, lo, hi, room, targets)
  local fmas = {}
  for j, t in ipairs(targets) do
    fmas[#fmas + 1] = string.format("%s[l] += w%d * v;", t, j - 1)
  end
  return { string.format("for (int l = %d; l < %d; ++l) { const float v = %s[%s]; %s }",
                         lo, hi, x, index(xi, off, stride), table.concat(fmas, " ")) }
end

-- Apply the activation (act.apply spells it for one float) and store
-- lanes [0, n) at y[off + l * stride].
function isa.store(name, y, off, n, act, stride)
  return { string.format("for (int l = 0; l < %d; ++l) %s[%s + %s] = %s;",
                         n, y, off, stride == 1 and "l" or ("l * " .. stride), act.apply(name .. "[l]")) }
end

-- Filter-vector operations (generator/lua/plan_fv.lua): vectors of 8
-- filters as float arrays, pixels as scalars. Only for NHWC layers,
-- where a vector's filters lie side by side in the output (a store into
-- NCHW planes would be lane by lane anyway). Lanes past `live` (a C
-- expression: the filters that exist) are neither read nor written.
isa.fv = true
isa.fv_scatter = false

function isa.fv_prelude(stride)
  assert(stride == 1, "generic filter vectors: contiguous stores only")
  return {}
end

function isa.fv_acc_init(name, ptr)
  return string.format("float %s[%d]; for (int l = 0; l < %d; ++l) %s[l] = (%s)[l];",
                       name, isa.lanes, isa.lanes, name, ptr)
end

-- The weight vectors are read in place: wv<v> points at them.
function isa.fv_weights(n, base, offs)
  local lines = {}
  for v = 0, n - 1 do
    lines[#lines + 1] = string.format("const float *wv%d = %s + %d;", v, base, offs[v])
  end
  return lines
end

function isa.fv_pixel_fma(x, xi, off, targets)
  local lines = { string.format("{ const float xp = %s[%s %s %d];", x, xi, off >= 0 and "+" or "-", math.abs(off)) }
  for v, t in ipairs(targets) do
    lines[#lines + 1] = string.format("  for (int l = 0; l < %d; ++l) %s[l] += wv%d[l] * xp;", isa.lanes, t, v - 1)
  end
  lines[#lines] = lines[#lines] .. " }"
  return lines
end

-- The channel form (NHWC depthwise): targets[v] += wv(v-1) times the
-- vector at ptrs[v], of which the first lives[v] lanes exist.
function isa.fv_channel_fma(ptrs, lives, targets)
  local lines = {}
  for v, t in ipairs(targets) do
    lines[#lines + 1] = string.format("for (int l = 0; l < %s; ++l) %s[l] += wv%d[l] * (%s)[l];",
                                      lives[v], t, v - 1, ptrs[v])
  end
  return lines
end

function isa.fv_store(name, p, stride, live, act)
  assert(stride == 1, "generic filter vectors: contiguous stores only")
  return { string.format("for (int l = 0; l < %s; ++l) (%s)[l] = %s;", live, p, act.apply(name .. "[l]")) }
end

return isa
