-- plan: decide how a layer's kernel is laid out in code.
--
-- The output plane is cut into regions: each is a rectangle of output
-- positions whose kernel taps all land on the same valid (kh, kw) ranges,
-- so its code reads the input with no bounds checks. The interior is one
-- region; every distinct border row or column class gets its own.
--
-- Within a region the reduction over (c, kh, kw) is unrolled with constant
-- offsets as far as the code budget allows. Each region picks one of these
-- forms, from most to least unrolled:
--   { cu = k }          channel loop stepping by k (k divides C/groups; no
--                       loop when k = C/groups), kh and kw unrolled
--   { cu = 1, kh_loop } channel and kh loops, kw unrolled
--   { cu = 1, kh_loop, kw_loop }   all three loops, constant bounds
-- When the whole kernel exceeds the budget, the regions that cover the
-- fewest outputs are rolled up first, so the interior stays unrolled longest.

local shape = import "shape"
local util = import "util"

local M = {}

M.DEFAULT_CODE_BUDGET = 8192   -- lines of reduction code per kernel
local REGION_OVERHEAD = 12      -- lines a region costs besides its taps

local function divisors_desc(n)
  local d = {}
  for i = n, 1, -1 do if n % i == 0 then d[#d + 1] = i end end
  return d
end

-- The forms a region can take, most unrolled first.
local function forms(cpg)
  local list = {}
  for _, cu in ipairs(divisors_desc(cpg)) do list[#list + 1] = { cu = cu } end
  list[#list + 1] = { cu = 1, kh_loop = true }
  list[#list + 1] = { cu = 1, kh_loop = true, kw_loop = true }
  return list
end

local function body_lines(r, form)
  local nkh = r.kh1 - r.kh0
  local nkw = r.kw1 - r.kw0
  if nkh == 0 or nkw == 0 then return 0 end
  return form.cu * (form.kh_loop and 1 or nkh) * (form.kw_loop and 1 or nkw)
end

local function region_lines(r)
  return REGION_OVERHEAD + body_lines(r, r.forms[r.level])
end

-- The taps of one region in its chosen form: the loops around the body and
-- the constant offsets of each unrolled multiply-add, relative to the loop
-- variables. x offsets are relative to the input index of the output pixel.
local function expand(L, r)
  local form = r.forms[r.level]
  local cpg = L.channels // L.groups
  local hw = L.height * L.width
  local khkw = L.kernel_h * L.kernel_w
  local xrow = L.dilation_h * L.width
  local xcol = L.dilation_w
  r.loops, r.taps = {}, {}
  if body_lines(r, form) == 0 then return end
  if form.cu < cpg then
    r.loops[#r.loops + 1] = { var = "c", from = 0, to = cpg, step = form.cu, x = hw, w = khkw }
  end
  if form.kh_loop then
    r.loops[#r.loops + 1] = { var = "kh", from = r.kh0, to = r.kh1, step = 1, x = xrow, w = L.kernel_w }
  end
  if form.kw_loop then
    r.loops[#r.loops + 1] = { var = "kw", from = r.kw0, to = r.kw1, step = 1, x = xcol, w = 1 }
  end
  local kh_list, kw_list = {}, {}
  if form.kh_loop then kh_list = { 0 } else for kh = r.kh0, r.kh1 - 1 do kh_list[#kh_list + 1] = kh end end
  if form.kw_loop then kw_list = { 0 } else for kw = r.kw0, r.kw1 - 1 do kw_list[#kw_list + 1] = kw end end
  for c = 0, form.cu - 1 do
    for _, kh in ipairs(kh_list) do
      for _, kw in ipairs(kw_list) do
        r.taps[#r.taps + 1] = {
          w = c * khkw + kh * L.kernel_w + kw,
          x = c * hw + kh * xrow + kw * xcol,
        }
      end
    end
  end
end

-- Plan the generic direct convolution of a resolved layer.
-- budget: the most lines of reduction code; errors if even the most rolled
-- up form of every region exceeds it.
function M.direct(L, budget)
  local rows = shape.axis_classes(L.height, L.kernel_h, L.stride_h, L.dilation_h, L.pad_top, L.out_h)
  local cols = shape.axis_classes(L.width, L.kernel_w, L.stride_w, L.dilation_w, L.pad_left, L.out_w)
  local cpg = L.channels // L.groups
  local regions = {}
  for _, rc in ipairs(rows) do
    for _, cc in ipairs(cols) do
      regions[#regions + 1] = {
        oh0 = rc.o0, oh1 = rc.o1, kh0 = rc.t0, kh1 = rc.t1,
        ow0 = cc.o0, ow1 = cc.o1, kw0 = cc.t0, kw1 = cc.t1,
        outputs = (rc.o1 - rc.o0) * (cc.o1 - cc.o0),
        forms = forms(cpg), level = 1,
      }
    end
  end

  local total = 0
  for _, r in ipairs(regions) do total = total + region_lines(r) end
  if total > budget then
    -- Roll up the regions that do the least work first.
    local order = {}
    for i, r in ipairs(regions) do order[i] = r end
    table.sort(order, function(a, b)
      local wa = a.outputs * (a.kh1 - a.kh0) * (a.kw1 - a.kw0)
      local wb = b.outputs * (b.kh1 - b.kh0) * (b.kw1 - b.kw0)
      if wa ~= wb then return wa < wb end
      return (a.oh0 * L.out_w + a.ow0) < (b.oh0 * L.out_w + b.ow0)
    end)
    for _, r in ipairs(order) do
      while total > budget and r.level < #r.forms do
        total = total - region_lines(r)
        r.level = r.level + 1
        total = total + region_lines(r)
      end
      if total <= budget then break end
    end
    if total > budget then
      util.fail("%s:%d: layer '%s': the kernel needs %d lines of code even fully rolled up (%d regions), over the code budget of %d; raise code_budget",
                L.source, L.line, L.name, total, #regions, budget)
    end
  end

  local any_taps = false
  for _, r in ipairs(regions) do
    expand(L, r)
    if #r.taps > 0 then any_taps = true end
  end
  return { kind = "direct", regions = regions, lines = total, any_taps = any_taps,
           budget = budget }
end

return M
