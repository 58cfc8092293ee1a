-- plan: decide how a layer's kernel is laid out in code.
--
-- The kernel is output-stationary and register-blocked: a tile of TF
-- filters x TR output rows x TV vectors of V output columns lives in
-- TF*TR*TV vector accumulators while the reduction over (c, kh, kw) runs;
-- each tap loads TR*TV input vectors and broadcasts TF weights. Bias is the
-- accumulators' start value and the activation is applied on the store.
--
-- Tiles are placed at generation time. Along each output axis the tile
-- starts are 0, T, 2T, ... with the last one pulled back to end exactly at
-- the edge (tiles may overlap; each output is computed from scratch, so
-- computing one twice is harmless). A start is interior when every output
-- of the tile reads all its kernel taps inside the input; interior starts
-- share one runtime loop with no checks, and each border start gets its own
-- code in which the taps that fall in the padding are left out and the
-- lanes that fall in it are masked with constants. So no bounds are tested
-- at run time.
--
-- The planner is target-independent: a target only tells it its vector
-- width (lanes) and register count (see templates/conv2d/<target>/isa.lua).
-- The code budget bounds the lines of reduction code: the channel loop is
-- unrolled by the largest divisor of C/groups that fits, then interior kh
-- loops are rolled up.

local shape = import "shape"
local util = import "util"

local M = {}

M.DEFAULT_CODE_BUDGET = 4096    -- lines of reduction code per kernel
local REGION_OVERHEAD = 8        -- lines a region costs besides its taps
M.L2_WEIGHTS = 1 << 20           -- bytes of weights kept in L2 across tiles

-- Where the layout puts elements, in floats from the tensor's start (one
-- image; one group's first channel and filter): input (c, ih, iw) at
-- c*XC + ih*XR + iw*XP, output (f, oh, ow) at f*YF + oh*YR + ow*YP,
-- weights (f, c, kh, kw) at f*WF + c*WC + kh*WH + kw*WW.
function M.strides(L)
  local cpg = L.channels // L.groups
  local K = cpg * L.kernel_h * L.kernel_w
  if L.layout == "nhwc" then
    return { XC = 1, XR = L.width * L.channels, XP = L.channels,
             YF = 1, YR = L.out_w * L.filters, YP = L.filters,
             WF = K, WC = 1, WH = L.kernel_w * cpg, WW = cpg }
  end
  return { XC = L.height * L.width, XR = L.width, XP = 1,
           YF = L.out_h * L.out_w, YR = L.out_w, YP = 1,
           WF = K, WC = L.kernel_h * L.kernel_w, WH = L.kernel_w, WW = 1 }
end

-- The geometry the kernel iterates over. A 1x1, stride 1, unpadded layer
-- is a matrix product: its H x W plane is one row of H*W pixels (in either
-- layout the pixels of a plane are XP apart, row after row).
function M.geometry(L)
  local G = {
    H = L.height, W = L.width, OH = L.out_h, OW = L.out_w,
    KH = L.kernel_h, KW = L.kernel_w, SH = L.stride_h, SW = L.stride_w,
    DH = L.dilation_h, DW = L.dilation_w, PT = L.pad_top, PL = L.pad_left,
    flat = false,
  }
  for k, v in pairs(M.strides(L)) do G[k] = v end
  if G.KH == 1 and G.KW == 1 and G.SH == 1 and G.SW == 1 and L.pad_top == 0
     and L.pad_bottom == 0 and L.pad_left == 0 and L.pad_right == 0 then
    G.W, G.OW = G.H * G.W, G.OH * G.OW
    G.H, G.OH = 1, 1
    G.XR, G.YR = G.W * G.XP, G.OW * G.YP
    G.flat = true
  end
  return G
end

local function ceil_div(a, b) return (a + b - 1) // b end
M.ceil_div = ceil_div

-- Modelled cycles per useful multiply-add for a tile shape, on a core with
-- two FMA pipes of latency 4, two loads per cycle and one shuffle port.
-- Unaligned vector loads split cache lines (a 64-byte vector always, a
-- 32-byte one half the time); stride-2 rows need two loads and shuffles;
-- other strides gather lane by lane. Stores and accumulator set-up are
-- spread over the reduction, and lanes computed twice or past the edge of
-- a row count as lost.
function M.tile_cost(L, G, isa, tf, tr, tv)
  local V = isa.lanes
  local fpg = L.filters // L.groups
  local taps = (L.channels // L.groups) * G.KH * G.KW
  local fmas = tf * tr * tv
  local split = 1 + V * 4 / 64
  local per_load, shuffles = split, 0
  local lane_stride = G.SW * G.XP
  if lane_stride == 2 then
    per_load, shuffles = 2 * split, isa.stride2_shuffles or 2
  elseif lane_stride > 2 then
    per_load = V
  end
  local loads = tr * tv * per_load + tf
  local cycles = math.max(fmas / 2, loads / 2, 4, tr * tv * shuffles)
  -- Output columns YP apart (NHWC) are stored lane by lane.
  local tile_cycles = taps * cycles + (G.YP == 1 and 2 or 2 + V) * fmas
  local nr = ceil_div(G.OH, tr)
  local tw = tv * V
  local nc = G.OW >= tw and ceil_div(G.OW, tw) or 1
  local nf = ceil_div(fpg, tf)
  local useful = G.OH * G.OW * fpg
  local computed = nr * tr * nc * tw * nf * tf
  return tile_cycles / (taps * fmas * V) * computed / useful
end

-- The tile shape with the lowest modelled cost that fits the registers
-- (accumulators, one broadcast per filter and the input vector).
function M.choose_tile(L, isa)
  local G = M.geometry(L)
  local fpg = L.filters // L.groups
  local V = isa.lanes
  local best, best_cost
  for tf = 1, math.min(fpg, isa.registers - 2) do
    for tr = 1, math.min(G.OH, isa.registers) do
      for tv = 1, math.min(ceil_div(G.OW, V), 4) do
        -- A tile wider than the row only when one vector covers it all.
        local fits = tv == 1 or tv * V <= G.OW
        if fits and tf * tr * tv + tf + 1 <= isa.registers then
          local cost = M.tile_cost(L, G, isa, tf, tr, tv)
          -- Prefer the cheaper tile; on a tie, more filters, then more rows.
          local key = { cost, -tf, -tr }
          local better = not best
          if not better then
            for k = 1, 3 do
              local a, b = key[k], best.key[k]
              if math.abs(a - b) > 1e-9 then better = a < b; break end
            end
          end
          if better then best, best_cost = { tf = tf, tr = tr, tv = tv, key = key }, cost end
        end
      end
    end
  end
  return { tf = best.tf, tr = best.tr, tv = best.tv }, best_cost
end

-- Tile starts along an axis of n outputs in tiles of t: 0, t, ... with the
-- last pulled back to n - t (t <= n), or the single start 0 when t > n.
function M.starts(n, t)
  local count = ceil_div(n, t)
  local list = {}
  for i = 0, count - 1 do list[#list + 1] = math.max(0, math.min(i * t, n - t)) end
  return list
end

-- Classify tile starts along one axis. valid(o) gives the tap range of
-- output o ([t0, t1)). A class is either a loop over interior starts
-- { loop = true, first = i, count = n, step = t, last = s } or one border
-- start { at = s, ranges = { [j] = {t0, t1} or false (no output) } }.
function M.axis_classes(n, t, k, valid)
  local classes = {}
  local list = M.starts(n, t)
  for _, s in ipairs(list) do
    local ranges, interior = {}, true
    for j = 0, t - 1 do
      local o = s + j
      if o < n then
        local t0, t1 = valid(o)
        ranges[j] = { t0, t1 }
        if t0 ~= 0 or t1 ~= k then interior = false end
      else
        ranges[j] = false
        interior = false
      end
    end
    local prev = classes[#classes]
    if interior and prev and prev.loop then
      prev.count = prev.count + 1
      prev.last = s
    elseif interior then
      classes[#classes + 1] = { loop = true, first = s, count = 1, step = t, last = s }
    else
      classes[#classes + 1] = { at = s, ranges = ranges }
    end
  end
  return classes
end

-- The full tap range for every position of a loop class.
function M.full_ranges(t, k)
  local r = {}
  for j = 0, t - 1 do r[j] = { 0, k } end
  return r
end

-- Expand one region (a row class x a column class) into its taps: for each
-- (kh, kw), the input vectors to load (row r, vector v, the lanes [lo, hi)
-- that read inside the input) and the accumulators they feed. With roll_kh
-- the region's rows must share one kh range, which becomes a loop, and the
-- taps are listed for kw only (offsets relative to the loop's kh).
local function expand_region(G, tile, V, rc, cc, roll_kh)
  local rows = rc.loop and M.full_ranges(tile.tr, G.KH) or rc.ranges
  local tw = tile.tv * V
  local cols = cc.loop and M.full_ranges(tw, G.KW) or cc.ranges
  local region = { rows = rc, cols = cc, taps = {}, lanes = {}, row_exists = {} }
  local kh_list = {}
  if roll_kh then
    local first
    for r = 0, tile.tr - 1 do
      if rows[r] then
        first = first or rows[r]
        assert(rows[r][1] == first[1] and rows[r][2] == first[2], "roll_kh: rows differ")
      end
    end
    region.kh_loop = { from = first[1], to = first[2], x = G.DH * G.XR, w = G.WH }
    if first[2] > first[1] then kh_list = { 0 } end
  else
    for kh = 0, G.KH - 1 do kh_list[#kh_list + 1] = kh end
  end
  for _, kh in ipairs(kh_list) do
    for kw = 0, G.KW - 1 do
      local loads = {}
      for r = 0, tile.tr - 1 do
        local rr = rows[r]
        if rr and (roll_kh or (kh >= rr[1] and kh < rr[2])) then
          for v = 0, tile.tv - 1 do
            local lo, hi = nil, nil
            for l = 0, V - 1 do
              local cr = cols[v * V + l]
              if cr and kw >= cr[1] and kw < cr[2] then
                lo = lo or l
                hi = l + 1
              end
            end
            if lo then
              -- Elements of the input row after the last lane's, at the
              -- rightmost position of the class (for loads that read ahead).
              local last_col = (cc.loop and cc.last or cc.at) + v * V + hi - 1
              loads[#loads + 1] = {
                r = r, v = v, lo = lo, hi = hi,
                x = (r * G.SH + kh * G.DH) * G.XR + (v * V * G.SW + kw * G.DW) * G.XP,
                -- (in floats: whole pixels only, whatever the channel)
                room = (G.W - 1 - (last_col * G.SW - G.PL + kw * G.DW)) * G.XP,
              }
            end
          end
        end
      end
      if #loads > 0 then
        region.taps[#region.taps + 1] = { kh = kh, kw = kw, w = kh * G.WH + kw * G.WW, loads = loads }
      end
    end
  end
  -- Lanes of each output vector that exist (a row shorter than a vector).
  for v = 0, tile.tv - 1 do
    local hi = 0
    for l = 0, V - 1 do if cols[v * V + l] then hi = l + 1 end end
    region.lanes[v] = hi
  end
  for r = 0, tile.tr - 1 do region.row_exists[r] = rows[r] ~= false end
  return region
end

local function body_lines(taps, tf)
  local n = 0
  for _, t in ipairs(taps) do n = n + tf + #t.loads * (1 + tf) end
  return n
end

-- Regions of a tile shape and their lines of reduction code per channel.
-- roll: "none", "interior" (kh loops where the rows are interior) or "all"
-- (needs tr = 1, so that every region's rows share one kh range).
local function layout(G, tile, V, roll)
  local row_classes = M.axis_classes(G.OH, tile.tr, G.KH, function(o)
    return shape.tap_range(o, G.H, G.KH, G.SH, G.DH, G.PT)
  end)
  local col_classes = M.axis_classes(G.OW, tile.tv * V, G.KW, function(o)
    return shape.tap_range(o, G.W, G.KW, G.SW, G.DW, G.PL)
  end)
  local regions, per_channel = {}, 0
  for _, rc in ipairs(row_classes) do
    for _, cc in ipairs(col_classes) do
      local roll_kh = roll == "all" or (roll == "interior" and rc.loop)
      local region = expand_region(G, tile, V, rc, cc, roll_kh)
      regions[#regions + 1] = region
      per_channel = per_channel + body_lines(region.taps, tile.tf)
    end
  end
  return regions, per_channel
end

-- Plan the tiled kernel of layer L for a target whose isa module gives
-- lanes and registers. forced, if given, fixes the tile { tf, tr, tv }.
-- Within the budget, in order: the best tile with the channel loop unrolled
-- as far as it fits; the same with interior kh loops rolled up; one-row
-- tiles with every kh loop rolled up. Beyond that, an error.
function M.tiled(L, isa, budget, forced)
  local G = M.geometry(L)
  local V = isa.lanes
  local cpg = L.channels // L.groups
  local fpg = L.filters // L.groups
  local tile = forced and { tf = forced.tf, tr = forced.tr, tv = forced.tv } or M.choose_tile(L, isa)
  tile.tf = math.min(tile.tf, fpg)
  tile.tr = math.min(tile.tr, G.OH)

  local attempts = {
    { tile = tile, roll = "none" },
    { tile = tile, roll = "interior" },
    { tile = { tf = tile.tf, tr = 1, tv = tile.tv }, roll = "all" },
  }
  local regions, cu, lines
  for _, a in ipairs(attempts) do
    local per_channel
    regions, per_channel = layout(G, a.tile, V, a.roll)
    lines = REGION_OVERHEAD * #regions + per_channel
    cu = 1
    if a.roll == "none" then
      for d = cpg, 1, -1 do
        if cpg % d == 0 and REGION_OVERHEAD * #regions + per_channel * d <= budget then
          cu = d
          break
        end
      end
      lines = REGION_OVERHEAD * #regions + per_channel * cu
    end
    if lines <= budget then
      tile = a.tile
      break
    end
  end
  if lines > budget then
    util.fail("%s:%d: layer '%s': the kernel needs %d lines of reduction code even with its loops rolled up (%d regions), over the code budget of %d; raise code_budget",
              L.source, L.line, L.name, lines, #regions, budget)
  end

  local any_taps = false
  for _, r in ipairs(regions) do any_taps = any_taps or #r.taps > 0 end
  -- Filter tiles innermost when one group's weights fit comfortably in
  -- L2, so that each input patch is read once for all of them.
  local weight_bytes = fpg * cpg * G.KH * G.KW * 4
  local order = (weight_bytes <= M.L2_WEIGHTS and #M.starts(fpg, tile.tf) > 1)
                and "filters_inner" or "filters_outer"
  return {
    kind = "tiled", G = G, V = V, tile = tile, cu = cu, cpg = cpg, fpg = fpg,
    f_starts = M.starts(fpg, tile.tf), regions = regions, lines = lines,
    budget = budget, any_taps = any_taps, order = order,
  }
end

return M
