-- conv2d/neon/isa.lua: vector operations as AArch64 NEON intrinsics.
--
-- Vectors are float32x4_t (4 floats); AArch64 has 32 of them. NEON has no
-- masked loads, so a vector with border lanes is built from its two
-- halves: a half whose lanes are all kept loads as one 64-bit vector
-- (vld1_f32, or vld2_f32 for stride 2 when it may read one element
-- further), the others lane by lane (vld1_lane_f32) into zeros. Lanes
-- outside [lo, hi) are never read. Stride-2 rows deinterleave as they
-- load (vld2q_f32); other strides load lane by lane. Partial stores write
-- the lanes kept only.

local isa = {
  name = "neon",
  lanes = 4,
  stride2_shuffles = 1, -- shuffle-port operations per stride-2 vector (cost model): LD2's permute
  registers = 32,
  tinycc = false,       -- TinyCC has no arm_neon.h: built with cc
  cpu = { "neon" },  -- what the CPU running the kernel needs (check runs it here)
  cflags = "",          -- AArch64 always has NEON (Advanced SIMD) and FMA
  includes = {
    "#include <arm_neon.h>",
    "#include <stddef.h>",
    "",
    "#if !defined(__aarch64__) || !defined(__ARM_NEON)",
    "#error \"this kernel is for AArch64 NEON: compile it with an aarch64 compiler\"",
    "#endif",
  },
}

isa.prelude = simd.prelude

isa.tap_end = simd.tap_end

function isa.acc_init(name, init)
  return string.format("float32x4_t %s = vdupq_n_f32(%s);", name, init)
end

-- Load lanes [0, n) of name from y + off, lanes stride apart (partial
-- sums of an earlier channel block; stride nil means 1); the other lanes
-- are zero.
function isa.acc_load(name, y, off, n, stride)
  local p = y .. " + " .. off
  stride = stride or 1
  if n == 4 and stride == 1 then return { string.format("%s = vld1q_f32(%s);", name, p) } end
  local lines = { string.format("%s = vdupq_n_f32(0.0f);", name) }
  for k = 0, n - 1 do
    lines[#lines + 1] = string.format("%s = vld1q_lane_f32(%s + %d, %s, %d);", name, p, k * stride, name, k)
  end
  return lines
end

function isa.broadcast(n, base, offs)
  return simd.broadcasts(n, base, offs, function(j, p)
    return string.format("const float32x4_t w%d = vld1q_dup_f32(%s);", j, p)
  end)
end

local addr = simd.addr

-- The float32x2_t expression for lanes 2h and 2h + 1 of the vector whose
-- lane l is x[xi + off + l * stride], keeping lanes [lo, hi) (others
-- zero). An element e (counted from lane 0's) may be read when it lies
-- between lane lo's element and the end of the row: lo * stride <= e <=
-- (hi - 1) * stride + room.
local function half(x, xi, off, stride, lo, hi, room, h)
  local l0, l1 = 2 * h, 2 * h + 1
  local both = l0 >= lo and l1 < hi
  if both and stride == 1 then
    return string.format("vld1_f32(%s)", addr(x, xi, off + l0))
  end
  -- vld2_f32 reads the four elements from lane l0's; the even ones are kept.
  if both and stride == 2 and l0 * 2 + 3 <= (hi - 1) * 2 + room then
    return string.format("vld2_f32(%s).val[0]", addr(x, xi, off + l0 * 2))
  end
  local e = "vdup_n_f32(0.0f)"
  for l = l0, l1 do
    if l >= lo and l < hi then
      e = string.format("vld1_lane_f32(%s, %s, %d)", addr(x, xi, off + l * stride), e, l - l0)
    end
  end
  return e
end

-- The expression loading lanes [lo, hi) of x[xi + off + l * stride]
-- (others zero). room: elements of the row after the last lane's element.
local function load(x, xi, off, stride, lo, hi, room)
  local full = lo == 0 and hi == 4
  if full and stride == 1 then
    return "vld1q_f32(" .. addr(x, xi, off) .. ")"
  end
  -- vld2q_f32 reads the eight elements from lane 0's: one past lane 3's.
  if full and stride == 2 and room >= 1 then
    return "vld2q_f32(" .. addr(x, xi, off) .. ").val[0]"
  end
  return string.format("vcombine_f32(%s, %s)", half(x, xi, off, stride, lo, hi, room, 0),
                       half(x, xi, off, stride, lo, hi, room, 1))
end

-- acc + x * w: a block's update, the vector x being the tiled kernel's
-- input or the filter-vectorized kernel's broadcast pixel.
local function fma(acc, w, x) return "vfmaq_f32(" .. acc .. ", " .. x .. ", " .. w .. ")" end

-- NEON multiply-adds take no memory operand: nothing to pin.
function isa.load_fma(x, xi, off, stride, lo, hi, room, targets)
  return simd.load_fma("float32x4_t", load(x, xi, off, stride, lo, hi, room), targets, fma)
end

-- The statement applying a vectorizable activation to name, or nil.
local function activate_vector(name, act)
  if act.kind == "relu" then
    return string.format("%s = vmaxq_f32(%s, vdupq_n_f32(0.0f));", name, name)
  elseif act.kind == "relu6" then
    return string.format("%s = vminq_f32(vmaxq_f32(%s, vdupq_n_f32(0.0f)), vdupq_n_f32(6.0f));", name, name)
  elseif act.kind == "leaky_relu" then
    return string.format("%s = vbslq_f32(vcgtq_f32(%s, vdupq_n_f32(0.0f)), %s, vmulq_f32(%s, vdupq_n_f32(%s)));",
                         name, name, name, name, act.alpha)
  end
  return nil
end

local spelling = {
  lanes = 4, spill = "vst1q_f32", activate = activate_vector,
  store = function(p, n, name)
    if n == 4 then return { string.format("vst1q_f32(%s, %s);", p, name) } end
    local lines, l = {}, 0
    if n >= 2 then
      lines[#lines + 1] = string.format("vst1_f32(%s, vget_low_f32(%s));", p, name)
      l = 2
    end
    for k = l, n - 1 do
      lines[#lines + 1] = string.format("vst1q_lane_f32(%s + %d, %s, %d);", p, k, name, k)
    end
    return lines
  end,
  store_strided = function(p, n, name, stride)
    local lines = {}
    for k = 0, n - 1 do
      lines[#lines + 1] = string.format("vst1q_lane_f32(%s + %d, %s, %d);", p, k * stride, name, k)
    end
    return lines
  end,
}

-- Apply the activation act (act.kind, act.alpha as a C literal, and
-- act.apply spelling it for one float) and store lanes [0, n) at y + off,
-- stride apart.
function isa.store(name, y, off, n, act, stride)
  return simd.store(spelling, name, y, off, n, act, stride)
end

-- Filter-vector operations (generator/lua/plan_fv.lua): vectors of 4
-- filters, pixels broadcast. NEON has no scatter, so only NHWC outputs,
-- where a vector's filters lie side by side, take this kernel. A partial
-- vector (the last of a group's filters) goes through a small array, so
-- no lane past the live ones is read or written.
isa.fv = true
isa.fv_scatter = false

function isa.fv_prelude(stride)
  assert(stride == 1, "neon filter vectors: contiguous stores only")
  return {}
end

function isa.fv_acc_init(name, ptr)
  return string.format("float32x4_t %s = vld1q_f32(%s);", name, ptr)
end

function isa.fv_weights(n, base, offs)
  return simd.fv_weights("float32x4_t", function(p) return "vld1q_f32(" .. p .. ")" end, n, base, offs)
end

function isa.fv_pixel_fma(x, xi, off, targets)
  return simd.fv_pixel_fma("float32x4_t", "vld1q_dup_f32(" .. addr(x, xi, off) .. ")", targets, fma)
end

-- The channel form (NHWC depthwise): targets[v] += wv(v-1) times the
-- vector at ptrs[v], of which the first lives[v] lanes exist.
function isa.fv_channel_fma(ptrs, lives, targets)
  local lines = {}
  for v, t in ipairs(targets) do
    lines[#lines + 1] = string.format(
      "if (%s == 4) { %s = vfmaq_f32(%s, wv%d, vld1q_f32(%s)); } else { float c[4] = { 0.0f, 0.0f, 0.0f, 0.0f }; for (int l = 0; l < %s; ++l) c[l] = (%s)[l]; %s = vfmaq_f32(%s, wv%d, vld1q_f32(c)); }",
      lives[v], t, t, v - 1, ptrs[v], lives[v], ptrs[v], t, t, v - 1)
  end
  return lines
end

-- Apply the activation and store the first `live` lanes (a C expression)
-- at p (stride is 1: see fv_prelude).
function isa.fv_store(name, p, stride, live, act)
  assert(stride == 1, "neon filter vectors: contiguous stores only")
  if act.kind == "sigmoid" or act.kind == "tanh" then
    return { string.format("{ float t[4]; vst1q_f32(t, %s); for (int l = 0; l < %s; ++l) (%s)[l] = %s; }",
                           name, live, p, act.apply("t[l]")) }
  end
  local lines = {}
  local a = activate_vector(name, act)
  if a then lines[#lines + 1] = a end
  lines[#lines + 1] = string.format("if (%s == 4) vst1q_f32(%s, %s); else { float t[4]; vst1q_f32(t, %s); for (int l = 0; l < %s; ++l) (%s)[l] = t[l]; }",
                                    live, p, name, name, live, p)
  return lines
end

return isa
