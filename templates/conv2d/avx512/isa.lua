-- conv2d/avx512/isa.lua: vector operations as x86-64 AVX-512F intrinsics.
--
-- Vectors are __m512 (16 floats); 32 registers hold larger tiles than
-- AVX2's 16. Border lanes use AVX-512's own masks: masked loads suppress
-- faults on the lanes left out, masked stores write only the lanes kept.
-- Stride-2 rows load two vectors and deinterleave them in one permute.

local isa = {
  name = "avx512",
  lanes = 16,
  stride2_shuffles = 1, -- shuffle-port operations per stride-2 vector (cost model)
  registers = 32,
  wide_flat_tiles = true, -- a 1x1 layer's tie goes to 4 vectors, 16 accumulators (plan.choose_tile)
  stream_fence = "_mm_sfence();", -- orders streaming (non-temporal) stores; the target has them (plan.streaming)
  tinycc = false,       -- TinyCC has no immintrin.h: built with cc
  cpu = { "avx512f" },  -- what the CPU running the kernel needs (check runs it here)
  cflags = "-mavx512f -mfma",
  includes = {
    "#include <immintrin.h>",
    "",
    "#if !defined(__AVX512F__)",
    "#error \"this kernel is for AVX-512F: compile with -mavx512f (or a -march that has it)\"",
    "#endif",
  },
}

-- The __mmask16 whose bits l are set for lo <= l < hi.
local function mask(lo, hi)
  local m = 0
  for l = lo, hi - 1 do m = m | (1 << l) end
  return string.format("(__mmask16)0x%04x", m)
end

isa.prelude = simd.prelude

isa.tap_end = simd.tap_end
isa.prefetch = simd.prefetch

function isa.acc_init(name, init)
  return string.format("__m512 %s = _mm512_set1_ps(%s);", name, init)
end

-- Load lanes [0, n) of name from y + off, lanes stride apart (partial
-- sums of an earlier channel block; stride nil means 1); the other lanes
-- are zero.
function isa.acc_load(name, y, off, n, stride)
  local p = y .. " + " .. off
  if (stride or 1) ~= 1 then
    return { string.format("%s = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), %s, _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15), _mm512_set1_epi32(%d)), %s, 4);",
                           name, mask(0, n), stride, p) }
  end
  if n == 16 then return { string.format("%s = _mm512_loadu_ps(%s);", name, p) } end
  return { string.format("%s = _mm512_maskz_loadu_ps(%s, %s);", name, mask(0, n), p) }
end

function isa.broadcast(n, base, offs)
  return simd.broadcasts(n, base, offs, function(j, p)
    return string.format("const __m512 w%d = _mm512_set1_ps(*(%s));", j, p)
  end)
end

local addr = simd.addr

local EVEN = "_mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30)"

-- The expression loading lanes [lo, hi) of x[xi + off + l * stride]
-- (others zero). room: elements of the row after the last lane's element.
local function load(x, xi, off, stride, lo, hi, room)
  local p = addr(x, xi, off)
  if stride == 1 then
    if lo == 0 and hi == 16 then return "_mm512_loadu_ps(" .. p .. ")" end
    return string.format("_mm512_maskz_loadu_ps(%s, %s)", mask(lo, hi), p)
  end
  if stride == 2 then
    local a, b
    if lo == 0 and hi == 16 and room >= 1 then
      a = "_mm512_loadu_ps(" .. p .. ")"
      b = "_mm512_loadu_ps(" .. addr(x, xi, off + 16) .. ")"
    else
      -- Element e of the 32 read belongs to lane e // 2 when e is even.
      local m1, m2 = 0, 0
      for e = 0, 31, 2 do
        local l = e // 2
        if l >= lo and l < hi then
          if e < 16 then m1 = m1 | (1 << e) else m2 = m2 | (1 << (e - 16)) end
        end
      end
      a = string.format("_mm512_maskz_loadu_ps((__mmask16)0x%04x, %s)", m1, p)
      b = string.format("_mm512_maskz_loadu_ps((__mmask16)0x%04x, %s)", m2, addr(x, xi, off + 16))
    end
    return string.format("_mm512_permutex2var_ps(%s, %s, %s)", a, EVEN, b)
  end
  -- Other strides: gather the lanes kept.
  return string.format("_mm512_mask_i32gather_ps(_mm512_setzero_ps(), %s, _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15), _mm512_set1_epi32(%d)), %s, 4)",
                       mask(lo, hi), stride, p)
end

-- acc + w * x, spelled for both kernel families' blocks.
local function fma(acc, w, x) return "_mm512_fmadd_ps(" .. w .. ", " .. x .. ", " .. acc .. ")" end

function isa.load_fma(x, xi, off, stride, lo, hi, room, targets)
  return simd.load_fma("__m512", load(x, xi, off, stride, lo, hi, room), targets, fma, "v")
end

-- The whole-plane kernel (generator/lua/plan_plane.lua): the lanes in
-- the bit mask m of x[off + l], others zero, times w(j-1) into targets[j].
isa.plane_fma = function(x, off, m, targets)
  local p = simd.offset(x, off)
  local e = m == 0xffff and ("_mm512_loadu_ps(" .. p .. ")")
            or string.format("_mm512_maskz_loadu_ps((__mmask16)0x%04x, %s)", m, p)
  return simd.load_fma("__m512", e, targets, fma, "v")
end

-- The statement applying a vectorizable activation to name, or nil.
local function activate_vector(name, act)
  if act.kind == "relu" then
    return string.format("%s = _mm512_max_ps(%s, _mm512_setzero_ps());", name, name)
  elseif act.kind == "relu6" then
    return string.format("%s = _mm512_min_ps(_mm512_max_ps(%s, _mm512_setzero_ps()), _mm512_set1_ps(6.0f));", name, name)
  elseif act.kind == "leaky_relu" then
    return string.format(
      "%s = _mm512_mask_mul_ps(%s, _mm512_cmp_ps_mask(%s, _mm512_setzero_ps(), _CMP_LE_OQ), %s, _mm512_set1_ps(%s));",
      name, name, name, name, act.alpha)
  end
  return nil
end

local spelling = {
  lanes = 16, spill = "_mm512_storeu_ps", activate = activate_vector,
  stream = "_mm512_stream_ps",
  store = function(p, n, name)
    if n == 16 then return { string.format("_mm512_storeu_ps(%s, %s);", p, name) } end
    return { string.format("_mm512_mask_storeu_ps(%s, %s, %s);", p, mask(0, n), name) }
  end,
  store_strided = function(p, n, name, stride)
    return { string.format("_mm512_mask_i32scatter_ps(%s, %s, _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15), _mm512_set1_epi32(%d)), %s, 4);",
                             p, mask(0, n), stride, name) }
  end,
}

-- Apply the activation act (act.kind, act.alpha as a C literal, and
-- act.apply spelling it for one float) and store lanes [0, n) at y + off,
-- stride apart.
function isa.store(name, y, off, n, act, stride, nt)
  return simd.store(spelling, name, y, off, n, act, stride, nt)
end

-- Filter-vector operations (generator/lua/plan_fv.lua): vectors of 16
-- filters, pixels broadcast, stores scattered down the filter planes
-- (NCHW) or, where filters lie side by side (NHWC), plain masked stores.
isa.fv = true
isa.fv_scatter = true

-- The scatter offsets of 16 filters stride floats apart (none for 1),
-- and the last step of fv_store_rows' transpose.
function isa.fv_prelude(stride)
  if stride == 1 then return {} end
  local idx = {}
  for l = 0, 15 do idx[#idx + 1] = tostring(l * stride) end
  return { "const __m512i planes = _mm512_setr_epi32(" .. table.concat(idx, ", ") .. ");",
           "const __m512i rows_lo = _mm512_setr_epi32(0, 1, 2, 3, 16, 17, 18, 19, 4, 5, 6, 7, 20, 21, 22, 23);",
           "const __m512i rows_hi = _mm512_setr_epi32(8, 9, 10, 11, 24, 25, 26, 27, 12, 13, 14, 15, 28, 29, 30, 31);",
           "const __m512i back_lo = _mm512_setr_epi32(0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27);",
           "const __m512i back_hi = _mm512_setr_epi32(4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23, 28, 29, 30, 31);",
           "(void)planes; (void)rows_lo; (void)rows_hi; (void)back_lo; (void)back_hi;   /* unused by some tiles */" }
end

function isa.fv_acc_init(name, ptr)
  return string.format("__m512 %s = _mm512_loadu_ps(%s);", name, ptr)
end

-- Load the first `live` lanes (a C expression) of name from p[l * stride]
-- (partial sums of an earlier channel block); the other lanes are zero.
-- A stride other than 1 is the one fv_prelude set up, gathered.
function isa.fv_acc_load(name, p, stride, live)
  if stride == 1 then
    return { string.format("%s = _mm512_maskz_loadu_ps((__mmask16)((1u << %s) - 1u), %s);", name, live, p) }
  end
  return { string.format("%s = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), (__mmask16)((1u << %s) - 1u), planes, %s, 4); /* %d */",
                         name, live, p, stride) }
end

-- Tiles one register short keep their last weight vectors in memory
-- (plan_fv.memory_weights), read by the multiply-adds.
isa.fma_mem = true
local fma_mem = simd.x86_fma_mem("v", 16)

function isa.fv_weights(n, base, offs, nmem)
  return simd.fv_weights("__m512", function(p) return "_mm512_loadu_ps(" .. p .. ")" end, n, base, offs, nmem)
end

function isa.fv_pixel_fma(x, xi, off, targets, nmem)
  return simd.fv_pixel_fma("__m512", string.format("_mm512_set1_ps(%s[%s %s %d])", x, xi, off >= 0 and "+" or "-",
                                                   math.abs(off)), targets, fma, "v", nmem, fma_mem)
end

-- The channel form (NHWC depthwise): targets[v] += wv(v-1) times the
-- vector at ptrs[v], of which the first lives[v] lanes (C expressions)
-- exist; the others are neither read nor used.
function isa.fv_channel_fma(ptrs, lives, targets)
  local lines = {}
  for v, t in ipairs(targets) do
    lines[#lines + 1] = string.format("%s = _mm512_fmadd_ps(wv%d, _mm512_maskz_loadu_ps((__mmask16)((1u << %s) - 1u), %s), %s);",
                                      t, v - 1, lives[v], ptrs[v], t)
  end
  return lines
end

-- Apply the activation and store the first `live` lanes (a C expression)
-- at p[l * stride].
function isa.fv_store(name, p, stride, live, act)
  local lines = {}
  if act.kind == "sigmoid" or act.kind == "tanh" then
    lines[#lines + 1] = string.format("{ float t[16]; _mm512_storeu_ps(t, %s); for (int l = 0; l < %s; ++l) (%s)[l * %d] = %s; }",
                                      name, live, p, stride, act.apply("t[l]"))
    return lines
  end
  local a = activate_vector(name, act)
  if a then lines[#lines + 1] = a end
  if stride == 1 then
    lines[#lines + 1] = string.format("_mm512_mask_storeu_ps(%s, (__mmask16)((1u << %s) - 1u), %s);", p, live, name)
  else
    lines[#lines + 1] = string.format("_mm512_mask_i32scatter_ps(%s, (__mmask16)((1u << %s) - 1u), planes, %s, 4);", p, live, name)
  end
  return lines
end

-- Apply the activation to the accumulators names (at most isa.fv_rows:
-- 16 filters at each of #names consecutive pixels) and store them as the
-- filters' rows: pixel j of filter l at p[l * stride + j]. A transpose in
-- registers (unpacks, then a two-source permute) and a masked store per
-- row cost far less than a scatter per pixel (resnet50's 1x1 layers: 14%
-- faster in all). Rows at or past `live` (a C expression) are left out
-- unless full says every vector is whole.
isa.fv_rows = 8

-- The lines transposing, within each 128-bit chunk, the 4x4 block of
-- the vectors src (four C expressions) into the variables dst (four
-- names): lane k of dst[i+1] is lane i of src[k+1], in every chunk. tmp
-- prefixes the temporaries.
local function transpose4(add, src, dst, tmp)
  local function pd(e) return "_mm512_castps_pd(" .. e .. ")" end
  for k = 0, 1 do
    add("const __m512 %s%d = _mm512_unpacklo_ps(%s, %s), %s%d = _mm512_unpackhi_ps(%s, %s);",
        tmp, 2 * k, src[2 * k + 1], src[2 * k + 2], tmp, 2 * k + 1, src[2 * k + 1], src[2 * k + 2])
  end
  for k = 0, 1 do
    add("%s = _mm512_castpd_ps(_mm512_unpacklo_pd(%s, %s)); %s = _mm512_castpd_ps(_mm512_unpackhi_pd(%s, %s));",
        dst[2 * k + 1], pd(tmp .. k), pd(tmp .. (k + 2)), dst[2 * k + 2], pd(tmp .. k), pd(tmp .. (k + 2)))
  end
end

function isa.fv_store_rows(names, p, stride, live, full, act)
  local n = #names
  assert(n >= 1 and n <= isa.fv_rows, "fv_store_rows: 1 to 8 pixels")
  if act.kind == "sigmoid" or act.kind == "tanh" then
    local lines = {}
    for j, name in ipairs(names) do
      for _, line in ipairs(isa.fv_store(name, p .. " + " .. (j - 1), stride, live, act)) do lines[#lines + 1] = line end
    end
    return lines
  end
  local lines, add = simd.block()
  for _, name in ipairs(names) do
    local a = activate_vector(name, act)
    if a then add("%s", a) end
  end
  -- a[j]: pixel j's 16 filters, zero past the run. In chunk q of tu(i)
  -- (pixels 0..3) and th(i) (pixels 4..7): filter 4q + i.
  local a = {}
  for j = 1, 8 do a[j] = names[j] or "_mm512_setzero_ps()" end
  add("__m512 tu0, tu1, tu2, tu3%s;", n > 4 and ", th0, th1, th2, th3" or "")
  transpose4(add, { a[1], a[2], a[3], a[4] }, { "tu0", "tu1", "tu2", "tu3" }, "ts")
  if n > 4 then transpose4(add, { a[5], a[6], a[7], a[8] }, { "th0", "th1", "th2", "th3" }, "tt") end
  local m = mask(0, n)
  local function row(l, e)
    local st = string.format("_mm512_mask_storeu_ps(%s + %d, %s, %s);", p, l * stride, m, e)
    if full or l == 0 then add("%s", st) else add("if (%s > %d) %s", live, l, st) end
  end
  for i = 0, 3 do
    local h = n > 4 and ("th" .. i) or "_mm512_setzero_ps()"
    -- lo: filter i in lanes 0..7, filter 4 + i in 8..15; hi: 8 + i and 12 + i.
    add("{ const __m512 lo = _mm512_permutex2var_ps(tu%d, rows_lo, %s), hi = _mm512_permutex2var_ps(tu%d, rows_hi, %s);", i, h, i, h)
    row(i, "lo")
    row(4 + i, "_mm512_shuffle_f32x4(lo, lo, 0xee)")
    row(8 + i, "hi")
    row(12 + i, "_mm512_shuffle_f32x4(hi, hi, 0xee)")
    lines[#lines] = lines[#lines] .. " }"
  end
  lines[#lines + 1] = "}"
  return lines
end

-- The inverse of fv_store_rows, for the partial sums of an earlier
-- channel block: load the rows of the first `live` filters and transpose
-- them into the accumulators names; the other lanes are zero.
function isa.fv_load_rows(names, p, stride, live, full)
  local n = #names
  assert(n >= 1 and n <= isa.fv_rows, "fv_load_rows: 1 to 8 pixels")
  local lines, add = simd.block()
  local m = mask(0, n)
  local function row(l)
    local k = (full or l == 0) and m or string.format("(__mmask16)(%s > %d ? %s : 0)", live, l, m)
    return string.format("_mm512_maskz_loadu_ps(%s, %s + %d)", k, p, l * stride)
  end
  add("__m512 tu0, tu1, tu2, tu3%s;", n > 4 and ", th0, th1, th2, th3" or "")
  for i = 0, 3 do
    -- lo: filter i's row in lanes 0..7, filter 4 + i's in 8..15; hi: 8 + i and 12 + i.
    add("{ const __m512 lo = _mm512_shuffle_f32x4(%s, %s, 0x44), hi = _mm512_shuffle_f32x4(%s, %s, 0x44);",
        row(i), row(4 + i), row(8 + i), row(12 + i))
    add("  tu%d = _mm512_permutex2var_ps(lo, back_lo, hi);%s }", i,
        n > 4 and string.format(" th%d = _mm512_permutex2var_ps(lo, back_hi, hi);", i) or "")
  end
  -- The pixels past the run go to spare variables, left unused.
  local a = {}
  for j = 1, 8 do a[j] = names[j] or ("tx" .. j) end
  if n < 8 then add("__m512 %s; (void)%s;", table.concat(a, ", ", n + 1), table.concat(a, "; (void)", n + 1)) end
  transpose4(add, { "tu0", "tu1", "tu2", "tu3" }, { a[1], a[2], a[3], a[4] }, "ts")
  if n > 4 then transpose4(add, { "th0", "th1", "th2", "th3" }, { a[5], a[6], a[7], a[8] }, "tt") end
  lines[#lines + 1] = "}"
  return lines
end

return isa
