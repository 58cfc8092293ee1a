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

-- The C expression x + xi + off, with the sign of off spelled out.
function simd.addr(x, xi, off)
  return string.format("%s + %s %s %d", x, xi, off >= 0 and "+" or "-", math.abs(off))
end

-- Declarations of w0 .. w(n-1) = broadcast(base + offs[j]); spell(j, ptr)
-- gives one declaration.
function simd.broadcasts(n, base, offs, spell)
  local lines = {}
  for j = 0, n - 1 do lines[#lines + 1] = spell(j, base .. " + " .. offs[j]) end
  return lines
end

-- One block: v = the vector load_expr (of type vtype), multiplied by w_j
-- and added into targets[j] for each j; fma(acc, w) spells one update.
function simd.load_fma(vtype, load_expr, targets, fma)
  local lines = { "{ const " .. vtype .. " v = " .. load_expr .. ";" }
  for j, t in ipairs(targets) do
    lines[#lines + 1] = "  " .. t .. " = " .. fma(t, "w" .. (j - 1)) .. ";"
  end
  lines[#lines] = lines[#lines] .. " }"
  return lines
end

-- Apply act and store lanes [0, n) of the vector name at y + off, lane l
-- at (y + off)[l * stride]. t spells the target: lanes, spill (the store
-- of a whole vector, for the lane-by-lane activations), activate(name,
-- act) (a statement, or nil when act needs none), store(p, n, name)
-- (lines storing n lanes side by side) and, optionally,
-- store_strided(p, n, name, stride) (lines storing them stride apart;
-- without it they are spilled and stored one by one).
function simd.store(t, name, y, off, n, act, stride)
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
  if stride == 1 then
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
