-- conv2d/simd.lua: what the intrinsic targets (avx2, avx512, neon) spell
-- alike. Each isa.lua receives this table as `simd`.

local simd = {}

-- The lines a kernel needs before its code: math.h when the activation
-- is finished lane by lane with expf or tanhf.
function simd.prelude(L)
  if L.activation == "sigmoid" or L.activation == "tanh" then return { "#include <math.h>" } end
  return {}
end

-- Closes one tap. The empty asm with a memory clobber keeps the compiler
-- from hoisting the next taps' loads above it: with every accumulator
-- live, hoisted loads are what makes gcc and clang spill.
function simd.tap_end()
  return { "__asm__ volatile(\"\" ::: \"memory\");" }
end

-- The statement prefetching the cache line at the float pointer p into L1
-- (x86: the tiled template's prefetch, see tiled.c.in).
function simd.prefetch(p)
  return string.format("_mm_prefetch((const char *)(%s), _MM_HINT_T0);", p)
end

-- The C expression x + xi + off, with the sign of off spelled out.
function simd.addr(x, xi, off)
  return string.format("%s + %s %s %d", x, xi, off >= 0 and "+" or "-", math.abs(off))
end

-- A block of C statements: its lines, opened with "{" (the caller closes
-- it), and add(fmt, ...), which appends one formatted, indented line.
function simd.block()
  local lines = { "{" }
  return lines, function(fmt, ...) lines[#lines + 1] = "    " .. string.format(fmt, ...) end
end

-- The C expression x + off (off a number), plainly x when off is 0.
function simd.offset(x, off)
  if off == 0 then return x end
  return string.format("%s %s %d", x, off > 0 and "+" or "-", math.abs(off))
end

-- Declarations of n values, one for each of the pointers base + offs[j]
-- (the tiled kernel's broadcast weights w0 .. w(n-1), the filter-vectorized
-- kernel's weight vectors); spell(j, ptr) gives one declaration.
function simd.broadcasts(n, base, offs, spell)
  local lines = {}
  for j = 0, n - 1 do lines[#lines + 1] = spell(j, base .. " + " .. offs[j]) end
  return lines
end

-- The statement that keeps name in a register (reg: the asm constraint of
-- the target's vector registers) when `uses` multiply-adds use it, two or
-- more; "" otherwise. x86 multiply-adds take a memory operand, and gcc
-- folds a load used by several of them into each one: the tile then
-- issues a load per multiply-add and runs at the load ports' pace, not
-- the FMA pipes' (a 4x6 AVX-512 tile: 173 -> 217 GFLOP/s with the load
-- kept in a register). The empty asm makes the loaded value opaque, so
-- it is loaded once.
function simd.pin(name, reg, uses)
  if not reg or uses < 2 then return "" end
  return string.format(" __asm__(\"\" : \"+%s\"(%s));", reg, name)
end

-- One block: var = expr (of type vtype), multiplied by weight j and added
-- into targets[j] for each j; update(j, target, var) spells that statement
-- and reg, if given, pins var (simd.pin).
local function fma_block(vtype, var, expr, targets, update, reg)
  local pin = simd.pin(var, reg, #targets)
  local lines = { "{ " .. (pin == "" and "const " or "") .. vtype .. " " .. var .. " = " .. expr .. ";" .. pin }
  for j, t in ipairs(targets) do
    lines[#lines + 1] = "  " .. update(j, t, var)
  end
  lines[#lines] = lines[#lines] .. " }"
  return lines
end

-- The statement target = fma(target, w, x), fma spelling acc + w * x.
local function assign(fma, t, w, x)
  return t .. " = " .. fma(t, w, x) .. ";"
end

-- The tiled kernel's block: v = the input vector load_expr, times the
-- broadcast weight w(j-1), into targets[j].
function simd.load_fma(vtype, load_expr, targets, fma, reg)
  return fma_block(vtype, "v", load_expr, targets, function(j, t, v)
    return assign(fma, t, "w" .. (j - 1), v)
  end, reg)
end

-- x86 (avx2, avx512): fma_mem(acc, w, x), the statement acc += x times
-- the lanes floats at the pointer w, which the multiply-add reads as its
-- memory operand; reg is the asm constraint of the vector registers. In C,
-- gcc either loads w once into a register, which a tile one register short
-- does not have (it spills an accumulator, and 4x7 AVX-512 tiles ran at
-- 157 GFLOP/s on resnet50's 1x1 stride-2 layer; 166 with this), or, given
-- a load per use, merges the loads back into one.
function simd.x86_fma_mem(reg, lanes)
  return function(acc, w, x)
    return string.format('__asm__("vfmadd231ps %%2, %%1, %%0" : "+%s"(%s) : "%s"(%s), "m"(*(const float (*)[%d])(%s)));',
                         reg, acc, reg, x, lanes, w)
  end
end

-- The filter-vectorized kernel's weight vectors: wv0 .. wv(n-1), vector v
-- loaded by load(pointer) from base + offs[v], except the last nmem
-- (default none), which stay in memory: wm<v> points at them, for
-- fv_pixel_fma's multiply-adds to read as an operand.
function simd.fv_weights(vtype, load, n, base, offs, nmem)
  local first_mem = n - (nmem or 0)
  return simd.broadcasts(n, base, offs, function(v, p)
    if v >= first_mem then return string.format("const float *wm%d = %s;", v, p) end
    return string.format("const %s wv%d = %s;", vtype, v, load(p))
  end)
end

-- The filter-vectorized kernel's block: xp = the broadcast pixel bcast,
-- times weight vector v-1, into targets[v]: the register wv(v-1), or for
-- the last nmem vectors the memory at wm(v-1), through the statement
-- fma_mem(acc, pointer, x) (x86 multiply-adds take a memory operand).
function simd.fv_pixel_fma(vtype, bcast, targets, fma, reg, nmem, fma_mem)
  local first_mem = #targets - (nmem or 0) + 1
  return fma_block(vtype, "xp", bcast, targets, function(v, t, x)
    if v >= first_mem then return fma_mem(t, "wm" .. (v - 1), x) end
    return assign(fma, t, "wv" .. (v - 1), x)
  end, reg)
end

-- Apply act and store lanes [0, n) of the vector name at y + off, lane l
-- at (y + off)[l * stride]. t spells the target: lanes, spill (the store
-- of a whole vector, for the lane-by-lane activations), activate(name,
-- act) (a statement, or nil when act needs none), store(p, n, name)
-- (lines storing n lanes side by side) and, optionally,
-- store_strided(p, n, name, stride) (lines storing them stride apart;
-- without it they are spilled and stored one by one) and stream (the
-- streaming store of a whole, aligned vector). nt, if given, is a C
-- condition: a whole vector side by side is then stored with t.stream
-- where it holds, with the usual store where it does not.
function simd.store(t, name, y, off, n, act, stride, nt)
  local lane = stride == 1 and "l" or ("l * " .. stride)
  if act.kind == "sigmoid" or act.kind == "tanh" then
    -- No vector exp: finish lane by lane.
    return { string.format("{ float t[%d]; %s(t, %s); for (int l = 0; l < %d; ++l) %s[%s + %s] = %s; }",
                           t.lanes, t.spill, name, n, y, off, lane, act.apply("t[l]")) }
  end
  local lines = {}
  local a = t.activate(name, act)
  if a then lines[#lines + 1] = a end
  local p = y .. " + " .. off
  local store
  if nt and stride == 1 and n == t.lanes then
    store = { string.format("if (%s) %s(%s, %s); else %s", nt, t.stream, p, name, t.store(p, n, name)[1]) }
  elseif stride == 1 then
    store = t.store(p, n, name)
  elseif t.store_strided then
    store = t.store_strided(p, n, name, stride)
  else
    store = { string.format("{ float t[%d]; %s(t, %s); for (int l = 0; l < %d; ++l) (%s)[%s] = t[l]; }",
                            t.lanes, t.spill, name, n, p, lane) }
  end
  for _, line in ipairs(store) do lines[#lines + 1] = line end
  return lines
end

return simd
