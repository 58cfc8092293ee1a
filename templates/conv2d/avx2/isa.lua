-- conv2d/avx2/isa.lua: vector operations as x86-64 AVX2 + FMA intrinsics.
--
-- Vectors are __m256 (8 floats). Stride-1 rows load with one unaligned
-- load; stride-2 rows with two loads and a deinterleave; other strides by
-- element. Border lanes are masked with constant masks (vmaskmovps), which
-- never touch the masked-off addresses.

local isa = {
  name = "avx2",
  lanes = 8,
  stride2_shuffles = 2, -- shuffle-port operations per stride-2 vector (cost model)
  registers = 16,
  stream_fence = "_mm_sfence();", -- orders streaming (non-temporal) stores; the target has them (plan.streaming)
  tinycc = false,       -- TinyCC has no immintrin.h: built with cc
  cpu = { "avx2", "fma" },  -- what the CPU running the kernel needs (check runs it here)
  cflags = "-mavx2 -mfma",
  includes = {
    "#include <immintrin.h>",
    "",
    "#if !defined(__AVX2__) || !defined(__FMA__)",
    "#error \"this kernel is for AVX2 + FMA: compile with -mavx2 -mfma (or -march=haswell or newer)\"",
    "#endif",
  },
}

local function mask(lo, hi, n)
  local m = {}
  for l = 0, (n or 8) - 1 do m[#m + 1] = (l >= lo and l < hi) and "-1" or "0" end
  return "_mm256_setr_epi32(" .. table.concat(m, ", ") .. ")"
end

-- The lines before the kernel: the deinterleave helper when input lanes
-- are two floats apart (stride 2, or NHWC with two channels: plan P).
function isa.prelude(L, P)
  isa.even = L.name .. "_even"
  local lines = simd.prelude(L)
  if P.G.SW * P.G.XP == 2 then
    for _, l in ipairs({
      "",
      "/* Elements 0, 2, ..., 14 of a and b = p[0..7], p[8..15]. */",
      "static inline __attribute__((unused)) __m256 " .. L.name .. "_even(__m256 a, __m256 b)",
      "{",
      "    const __m256 e = _mm256_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0));",
      "    return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(e), _MM_SHUFFLE(3, 1, 2, 0)));",
      "}",
    }) do lines[#lines + 1] = l end
  end
  return lines
end

isa.tap_end = simd.tap_end
isa.prefetch = simd.prefetch

function isa.acc_init(name, init)
  return string.format("__m256 %s = _mm256_set1_ps(%s);", name, init)
end

-- Load lanes [0, n) of name from y + off, lanes stride apart (partial
-- sums of an earlier channel block; stride nil means 1); the other lanes
-- are zero.
function isa.acc_load(name, y, off, n, stride)
  local p = y .. " + " .. off
  if (stride or 1) ~= 1 then
    local lanes = {}
    for l = 0, 7 do lanes[#lanes + 1] = l < n and string.format("(%s)[%d]", p, l * stride) or "0.0f" end
    return { string.format("%s = _mm256_setr_ps(%s);", name, table.concat(lanes, ", ")) }
  end
  if n == 8 then return { string.format("%s = _mm256_loadu_ps(%s);", name, p) } end
  return { string.format("%s = _mm256_maskload_ps(%s, %s);", name, p, mask(0, n)) }
end

function isa.broadcast(n, base, offs)
  return simd.broadcasts(n, base, offs, function(j, p)
    return string.format("const __m256 w%d = _mm256_broadcast_ss(%s);", j, p)
  end)
end

local addr = simd.addr

-- The expression loading lanes [lo, hi) of x[xi + off + l * stride]
-- (others zero). room: how many elements of the row follow the last
-- lane's element, for the two-vector stride-2 load.
local function load(x, xi, off, stride, lo, hi, room)
  local p = addr(x, xi, off)
  if stride == 1 then
    if lo == 0 and hi == 8 then return "_mm256_loadu_ps(" .. p .. ")" end
    return string.format("_mm256_maskload_ps(%s, %s)", p, mask(lo, hi))
  end
  if stride == 2 then
    if lo == 0 and hi == 8 and room >= 1 then
      return string.format("%s(_mm256_loadu_ps(%s), _mm256_loadu_ps(%s))", isa.even, p, addr(x, xi, off + 8))
    end
    -- Element e of the 16 read belongs to lane e // 2 when e is even.
    local m1, m2 = {}, {}
    for e = 0, 7 do m1[#m1 + 1] = (e % 2 == 0 and e // 2 >= lo and e // 2 < hi) and "-1" or "0" end
    for e = 8, 15 do m2[#m2 + 1] = (e % 2 == 0 and e // 2 >= lo and e // 2 < hi) and "-1" or "0" end
    return string.format("%s(_mm256_maskload_ps(%s, _mm256_setr_epi32(%s)), _mm256_maskload_ps(%s, _mm256_setr_epi32(%s)))",
                         isa.even, p, table.concat(m1, ", "), addr(x, xi, off + 8), table.concat(m2, ", "))
  end
  local e = {}
  for l = 0, 7 do
    e[#e + 1] = (l >= lo and l < hi) and string.format("%s[%s %s %d]", x, xi, off + l * stride >= 0 and "+" or "-",
                                                        math.abs(off + l * stride)) or "0.0f"
  end
  return "_mm256_setr_ps(" .. table.concat(e, ", ") .. ")"
end

-- acc + w * x, spelled for both kernel families' blocks.
local function fma(acc, w, x) return "_mm256_fmadd_ps(" .. w .. ", " .. x .. ", " .. acc .. ")" end

function isa.load_fma(x, xi, off, stride, lo, hi, room, targets)
  return simd.load_fma("__m256", load(x, xi, off, stride, lo, hi, room), targets, fma, "x")
end

-- The whole-plane kernel (generator/lua/plan_plane.lua): the lanes in
-- the bit mask m of x[off + l], others zero, times w(j-1) into targets[j].
function isa.plane_fma(x, off, m, targets)
  local p = simd.offset(x, off)
  local e
  if m == 0xff then
    e = "_mm256_loadu_ps(" .. p .. ")"
  else
    local lanes = {}
    for l = 0, 7 do lanes[#lanes + 1] = (m >> l) & 1 == 1 and "-1" or "0" end
    e = string.format("_mm256_maskload_ps(%s, _mm256_setr_epi32(%s))", p, table.concat(lanes, ", "))
  end
  return simd.load_fma("__m256", e, targets, fma, "x")
end

-- The statement applying a vectorizable activation to name, or nil.
local function activate_vector(name, act)
  if act.kind == "relu" then
    return string.format("%s = _mm256_max_ps(%s, _mm256_setzero_ps());", name, name)
  elseif act.kind == "relu6" then
    return string.format("%s = _mm256_min_ps(_mm256_max_ps(%s, _mm256_setzero_ps()), _mm256_set1_ps(6.0f));", name, name)
  elseif act.kind == "leaky_relu" then
    return string.format(
      "%s = _mm256_blendv_ps(_mm256_mul_ps(%s, _mm256_set1_ps(%s)), %s, _mm256_cmp_ps(%s, _mm256_setzero_ps(), _CMP_GT_OQ));",
      name, name, act.alpha, name, name)
  end
  return nil
end

local spelling = {
  lanes = 8, spill = "_mm256_storeu_ps", activate = activate_vector,
  stream = "_mm256_stream_ps",
  store = function(p, n, name)
    if n == 8 then return { string.format("_mm256_storeu_ps(%s, %s);", p, name) } end
    return { string.format("_mm256_maskstore_ps(%s, %s, %s);", p, mask(0, n), name) }
  end,
}

-- Apply the activation act (act.kind, act.alpha as a C literal, and
-- act.apply spelling it for one float) and store lanes [0, n) at y + off,
-- stride apart.
function isa.store(name, y, off, n, act, stride, nt)
  return simd.store(spelling, name, y, off, n, act, stride, nt)
end

-- Filter-vector operations (generator/lua/plan_fv.lua): vectors of 8
-- filters, pixels broadcast. AVX2 has no scatter: NHWC outputs, where a
-- vector's filters lie side by side, are stored as they are, and NCHW
-- outputs in runs of consecutive pixels through an 8x8 transpose
-- (fv_store_rows).
isa.fv = true
isa.fv_scatter = false

function isa.fv_prelude()
  return {}
end

-- The mask of the first `live` lanes (a C expression).
local function live_mask(live)
  return string.format("_mm256_cmpgt_epi32(_mm256_set1_epi32(%s), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7))", live)
end

function isa.fv_acc_init(name, ptr)
  return string.format("__m256 %s = _mm256_loadu_ps(%s);", name, ptr)
end

-- Tiles one register short keep their last weight vectors in memory
-- (plan_fv.memory_weights), read by the multiply-adds.
isa.fma_mem = true
local fma_mem = simd.x86_fma_mem("x", 8)

function isa.fv_weights(n, base, offs, nmem)
  return simd.fv_weights("__m256", function(p) return "_mm256_loadu_ps(" .. p .. ")" end, n, base, offs, nmem)
end

function isa.fv_pixel_fma(x, xi, off, targets, nmem)
  return simd.fv_pixel_fma("__m256", "_mm256_broadcast_ss(" .. addr(x, xi, off) .. ")", targets, fma, "x", nmem, fma_mem)
end

-- The channel form (NHWC depthwise): targets[v] += wv(v-1) times the
-- vector at ptrs[v], of which the first lives[v] lanes exist (the others
-- are not read: vmaskmovps).
function isa.fv_channel_fma(ptrs, lives, targets)
  local lines = {}
  for v, t in ipairs(targets) do
    lines[#lines + 1] = string.format("%s = _mm256_fmadd_ps(wv%d, _mm256_maskload_ps(%s, %s), %s);",
                                      t, v - 1, ptrs[v], live_mask(lives[v]), t)
  end
  return lines
end

-- Apply the activation and store the first `live` lanes (a C expression)
-- at p (stride is 1: NCHW goes through fv_store_rows).
function isa.fv_store(name, p, stride, live, act)
  assert(stride == 1, "avx2 filter vectors: contiguous stores only")
  if act.kind == "sigmoid" or act.kind == "tanh" then
    return { string.format("{ float t[8]; _mm256_storeu_ps(t, %s); for (int l = 0; l < %s; ++l) (%s)[l] = %s; }",
                           name, live, p, act.apply("t[l]")) }
  end
  local lines = {}
  local a = activate_vector(name, act)
  if a then lines[#lines + 1] = a end
  lines[#lines + 1] = string.format("_mm256_maskstore_ps(%s, %s, %s);", p, live_mask(live), name)
  return lines
end

-- The lines transposing the 8x8 block src (eight C expressions, rows)
-- into the variables dst (eight names): lane k of dst[i] is lane i - 1 of
-- src[k + 1]. Unpacks pair the rows, shuffles make 4x4 blocks in each
-- 128-bit half, and permute2f128 joins the halves.
local function transpose8(add, src, dst)
  for k = 0, 3 do
    add("const __m256 tt%d = _mm256_unpacklo_ps(%s, %s), tt%d = _mm256_unpackhi_ps(%s, %s);",
        2 * k, src[2 * k + 1], src[2 * k + 2], 2 * k + 1, src[2 * k + 1], src[2 * k + 2])
  end
  for h = 0, 1 do
    local b = 4 * h
    add("const __m256 tu%d = _mm256_shuffle_ps(tt%d, tt%d, 0x44), tu%d = _mm256_shuffle_ps(tt%d, tt%d, 0xee);",
        b, b, b + 2, b + 1, b, b + 2)
    add("const __m256 tu%d = _mm256_shuffle_ps(tt%d, tt%d, 0x44), tu%d = _mm256_shuffle_ps(tt%d, tt%d, 0xee);",
        b + 2, b + 1, b + 3, b + 3, b + 1, b + 3)
  end
  for i = 0, 3 do
    add("%s = _mm256_permute2f128_ps(tu%d, tu%d, 0x20); %s = _mm256_permute2f128_ps(tu%d, tu%d, 0x31);",
        dst[i + 1], i, i + 4, dst[i + 5], i, i + 4)
  end
end

-- Apply the activation to the accumulators names (at most isa.fv_rows:
-- 8 filters at each of #names consecutive pixels) and store them as the
-- filters' rows: pixel j of filter l at p[l * stride + j], rows at or
-- past `live` (a C expression) left out unless full.
isa.fv_rows = 8

function isa.fv_store_rows(names, p, stride, live, full, act)
  local n = #names
  assert(n >= 1 and n <= isa.fv_rows, "fv_store_rows: 1 to 8 pixels")
  local lines, add = simd.block()
  if act.kind == "sigmoid" or act.kind == "tanh" then
    -- Lane by lane: the rows of a spilled 8x8 block.
    add("float t[8][8];")
    for j, name in ipairs(names) do add("_mm256_storeu_ps(t[%d], %s);", j - 1, name) end
    add("for (int l = 0; l < %s; ++l)", full and "8" or live)
    add("    for (int j = 0; j < %d; ++j)", n)
    add("        (%s)[l * %d + j] = %s;", p, stride, act.apply("t[j][l]"))
    lines[#lines + 1] = "}"
    return lines
  end
  for _, name in ipairs(names) do
    local a = activate_vector(name, act)
    if a then add("%s", a) end
  end
  local src = {}
  for j = 1, 8 do src[j] = names[j] or "_mm256_setzero_ps()" end
  add("__m256 r0, r1, r2, r3, r4, r5, r6, r7;")
  transpose8(add, src, { "r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7" })
  for l = 0, 7 do
    local st = n == 8 and string.format("_mm256_storeu_ps(%s + %d, r%d);", p, l * stride, l)
               or string.format("_mm256_maskstore_ps(%s + %d, %s, r%d);", p, l * stride, mask(0, n), l)
    if full or l == 0 then add("%s", st) else add("if (%s > %d) %s", live, l, st) end
  end
  lines[#lines + 1] = "}"
  return lines
end

-- The inverse, for the partial sums of an earlier channel block: load the
-- rows of the first `live` filters (the others zero) and transpose them
-- into the accumulators names.
function isa.fv_load_rows(names, p, stride, live, full)
  local n = #names
  assert(n >= 1 and n <= isa.fv_rows, "fv_load_rows: 1 to 8 pixels")
  local lines, add = simd.block()
  local src = {}
  for l = 0, 7 do
    local ld = string.format("_mm256_maskload_ps(%s + %d, %s)", p, l * stride, mask(0, n))
    if not full and l > 0 then ld = string.format("(%s > %d ? %s : _mm256_setzero_ps())", live, l, ld) end
    add("const __m256 q%d = %s;", l, ld)
    src[l + 1] = "q" .. l
  end
  local dst = {}
  for j = 1, 8 do dst[j] = names[j] or ("tx" .. j) end
  if n < 8 then add("__m256 %s; (void)%s;", table.concat(dst, ", ", n + 1), table.concat(dst, "; (void)", n + 1)) end
  transpose8(add, src, dst)
  lines[#lines + 1] = "}"
  return lines
end

return isa
