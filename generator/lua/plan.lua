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
--
-- Channel blocks: when the input a tile reads over all its channels is
-- larger than L1, every filter tile after the first would fetch it again
-- from L2 or beyond. The reduction is then split into blocks of CB
-- channels (a divisor of C/groups): for each tile position, each block is
-- read once and used by every filter tile while it is in L1. The partial
-- sums wait in the output between blocks: the first block starts from the
-- bias, later ones load the sums back, and only the last applies the
-- activation. A tile must then own its outputs, so with blocks the tile
-- starts are not pulled back (the last tile is a border tile with the
-- lanes past the edge masked off), and the last filter tile, which is
-- pulled back, stores only the filters the one before it did not (the
-- filter tiles take turns within each block).

local shape = import "shape"
local util = import "util"

local M = {}

M.DEFAULT_CODE_BUDGET = 4096    -- lines of reduction code per kernel
local REGION_OVERHEAD = 8        -- lines a region costs besides its taps
M.L2_WEIGHTS = 1 << 20           -- bytes of weights kept in L2 across tiles
M.L1_BLOCK = 16 << 10            -- bytes of a channel block's data meant to stay in L1
M.L1_SPLIT = 32 << 10            -- split the channels when their data is larger than this
M.TILED_MAX_RUN = 32             -- channels in one straight run of the tiled kernel's reduction
M.TILED_STEP_LINES = 64          -- lines of one region's code per pass of a short channel loop

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
--
-- Many shapes tie: every tile that keeps both FMA pipes busy costs the
-- same. A tie goes to more filters, then more rows, except that a 1x1
-- layer (one long row) on a target with isa.wide_flat_tiles goes to more
-- vectors first, then to the tile nearest 16 accumulators. On Zen 5 with
-- AVX-512, 4 filters x 4 vectors ran 2-8% faster than 8 x 2 on 1x1
-- layers of 16-256 channels, and 5 or 6 filters x 4 vectors ran slower
-- than 4 x 4. Not for pruned baked weights (a quarter or more zero): a
-- multiply-add left out still leaves its input vector's load, and with
-- half of them gone a 4x4 tile loads a vector per two multiply-adds, an
-- 8x2 one per four. DS-CNN's pointwise layer half pruned: 4.34 us with
-- 4x4, 3.72 with 8x2 (dense 4.9 and 5.25, 90% pruned 1.31 and 1.32).
function M.choose_tile(L, isa)
  local G = M.geometry(L)
  local fpg = L.filters // L.groups
  local V = isa.lanes
  local pruned = L.baked and L.baked.zeros * 4 >= #L.baked.weights // 4
  local wide = G.flat and isa.wide_flat_tiles and not pruned
  local best, best_cost
  for tf = 1, math.min(fpg, isa.registers - 2) do
    for tr = 1, math.min(G.OH, isa.registers) do
      for tv = 1, math.min(ceil_div(G.OW, V), 4) do
        -- A tile wider than the row only when one vector covers it all.
        local fits = tv == 1 or tv * V <= G.OW
        if fits and tf * tr * tv + tf + 1 <= isa.registers then
          local cost = M.tile_cost(L, G, isa, tf, tr, tv)
          local key = wide and { cost, -tv, math.abs(tf * tr * tv - 16), -tf }
                            or { cost, -tf, -tr }
          local better = not best
          if not better then
            for k = 1, #key do
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

-- The largest channel unroll for blocks of cb of cpg channels: at most
-- half a block, so that the channel loop stays a loop (gcc spills a large
-- tile's accumulators when a block's reduction is one straight run).
local function max_unroll(cb, cpg)
  if cb < cpg and cb > 1 then return cb // 2 end
  return cb
end
M.max_unroll = max_unroll

-- Tile starts along an axis of n outputs in tiles of t: 0, t, ... with the
-- last pulled back to n - t (t <= n), or the single start 0 when t > n.
-- exact: never pulled back (the last tile may reach past the edge).
function M.starts(n, t, exact)
  local count = ceil_div(n, t)
  local list = {}
  for i = 0, count - 1 do
    list[#list + 1] = exact and i * t or math.max(0, math.min(i * t, n - t))
  end
  return list
end

-- Channels per block for a reduction over cpg channels whose data (what
-- stays in L1 across the tiles that share it) is `bytes` per channel: all
-- of them when they fit in L1_SPLIT, else the largest divisor of cpg whose
-- data fits in L1_BLOCK (at least one channel). forced: the block asked
-- for, lowered to a divisor of cpg.
function M.channel_block(cpg, bytes, forced)
  local want = forced
  if not want then
    if cpg * bytes <= M.L1_SPLIT then return cpg end
    want = math.max(1, M.L1_BLOCK // bytes)
  end
  for d = math.min(want, cpg), 1, -1 do
    if cpg % d == 0 then return d end
  end
  return 1
end

-- Classify tile starts along one axis. valid(o) gives the tap range of
-- output o ([t0, t1)). A class is either a loop over interior starts
-- { loop = true, first = i, count = n, step = t, last = s } or one border
-- start { at = s, ranges = { [j] = {t0, t1} or false (no output) } }.
-- exact: the starts are not pulled back (see M.starts).
function M.axis_classes(n, t, k, valid, exact)
  local classes = {}
  local list = M.starts(n, t, exact)
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

-- The kh values whose taps a region lists, for its tile rows' kh ranges
-- rows[0 .. tr-1] (nil for rows outside the output): every kh; or with
-- roll_kh, kh 0 alone (none when the range is empty), relative to the
-- region's kh loop, which this also returns: the one range the rows
-- share (they must), the input step x and the weight step w per kh.
function M.kh_taps(G, rows, tr, roll_kh, w)
  if not roll_kh then
    local list = {}
    for kh = 0, G.KH - 1 do list[#list + 1] = kh end
    return list, nil
  end
  local first
  for r = 0, tr - 1 do
    if rows[r] then
      first = first or rows[r]
      assert(rows[r][1] == first[1] and rows[r][2] == first[2], "roll_kh: rows differ")
    end
  end
  return first[2] > first[1] and { 0 } or {}, { from = first[1], to = first[2], x = G.DH * G.XR, w = w }
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
  local kh_list
  kh_list, region.kh_loop = M.kh_taps(G, rows, tile.tr, roll_kh, G.WH)
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

-- Regions of a tile shape, their lines of reduction code per channel, and
-- the most lines one channel takes in any one region (what one pass of the
-- channel loop runs, per channel it covers). roll: "none", "interior" (kh
-- loops where the rows are interior) or "all" (needs tr = 1, so that every
-- region's rows share one kh range).
-- exact: tile starts not pulled back (channel blocks).
local function layout(G, tile, V, roll, exact)
  local row_classes = M.axis_classes(G.OH, tile.tr, G.KH, function(o)
    return shape.tap_range(o, G.H, G.KH, G.SH, G.DH, G.PT)
  end, exact)
  local col_classes = M.axis_classes(G.OW, tile.tv * V, G.KW, function(o)
    return shape.tap_range(o, G.W, G.KW, G.SW, G.DW, G.PL)
  end, exact)
  local regions, per_channel, step = {}, 0, 0
  for _, rc in ipairs(row_classes) do
    for _, cc in ipairs(col_classes) do
      local roll_kh = roll == "all" or (roll == "interior" and rc.loop)
      local region = expand_region(G, tile, V, rc, cc, roll_kh)
      regions[#regions + 1] = region
      local lines = body_lines(region.taps, tile.tf)
      per_channel = per_channel + lines
      step = math.max(step, lines)
    end
  end
  return regions, per_channel, step
end

-- Zero skipping for baked weights. When every weight is known at
-- generation time, a tap's code can leave out the multiply-adds of its
-- zero weights, and the whole tap (its input loads too) when all the
-- tile's weights are zero. That needs each weight's value at each
-- multiply-add spelled: the channel loop fully unrolled, no kh loop, and
-- one copy of the code per filter tile of each group (the "blocks",
-- which do not overlap: the last of a group is narrower). The code is
-- only what survives, so the code budget counts the statements actually
-- emitted, and a pruned layer fits where its dense twin would not.

-- L's weights as a table: [flat index + 1] = true where the weight is
-- nonzero (+0.0 and -0.0 are zero), made once per layer.
local function nonzero_map(L)
  local B = L.baked
  if not B.nonzero then
    local map, wb = {}, B.weights
    for i = 1, #wb // 4 do map[i] = string.unpack("<f", wb, 4 * i - 3) ~= 0 end
    B.nonzero = map
  end
  return B.nonzero
end

-- The filters (0-based within block B) whose weight at (c, w) is nonzero:
-- channel c of the group, tap w = kh * WH + kw * WW (the tap's offset in
-- a filter's weights, in the layer's layout: see M.strides).
function M.nonzero(L, B, c, w)
  local S = M.strides(L)
  local K = S.WF
  local map, list = nonzero_map(L), {}
  local at = B.f0 * K + c * S.WC + w + 1
  for f = 0, B.tf - 1 do
    if map[at + f * K] then list[#list + 1] = f end
  end
  return list
end

-- Bytes of input one tile reads per channel (whole cache lines per row).
local function tile_input_bytes(G, tile, V)
  local rows = (tile.tr - 1) * G.SH + (G.KH - 1) * G.DH + 1
  local cols = (tile.tv * V - 1) * G.SW + (G.KW - 1) * G.DW + 1
  return rows * (ceil_div(cols * 4, 64) + 1) * 64
end

-- Whether filter tiles go innermost: when one group's weights fit
-- comfortably in L2 (and there are several tiles), so that each input
-- patch is read once for all of them.
local function filters_inner(L, G, tf)
  local fpg, cpg = L.filters // L.groups, L.channels // L.groups
  return fpg * cpg * G.KH * G.KW * 4 <= M.L2_WEIGHTS and #M.starts(fpg, math.min(tf, fpg)) > 1
end

-- Distinct divisors of cpg: all of them, and the largest whose `bytes`
-- per channel fit each of the sizes given.
function M.distinct_blocks(cpg, bytes, sizes)
  local list, seen = { cpg }, { [cpg] = true }
  for _, size in ipairs(sizes) do
    local cb = M.channel_block(cpg, bytes, math.max(1, size // bytes))
    if not seen[cb] then list[#list + 1], seen[cb] = cb, true end
  end
  return list
end

-- The filter blocks: { g = group, f0 = first filter of the layer, tf = filters }.
local function blocks(L, tf)
  local fpg = L.filters // L.groups
  local list = {}
  for g = 0, L.groups - 1 do
    for f = 0, fpg - 1, tf do
      list[#list + 1] = { g = g, f0 = g * fpg + f, tf = math.min(tf, fpg - f) }
    end
  end
  return list
end

-- Lines of reduction code the unrolled baked kernel needs (the block
-- overhead counts as a region's), counted up to the first line past the
-- budget.
local function unrolled_lines(L, regions, bl, cpg, budget)
  local lines = REGION_OVERHEAD * #regions * #bl
  for _, B in ipairs(bl) do
    for _, R in ipairs(regions) do
      for c = 0, cpg - 1 do
        for _, tap in ipairs(R.taps) do
          local n = #M.nonzero(L, B, c, tap.w)
          if n > 0 then lines = lines + n + #tap.loads * (1 + n) end
        end
        if lines > budget then return lines end
      end
    end
  end
  return lines
end

-- The channel blocks convgen tune tries with tile t (see tune.lua).
function M.block_choices(L, isa, t)
  local G = M.geometry(L)
  local cpg = L.channels // L.groups
  if not filters_inner(L, G, t.tf) then return { cpg } end
  local tile = { tf = t.tf, tr = math.min(t.tr, G.OH), tv = t.tv }
  return M.distinct_blocks(cpg, tile_input_bytes(G, tile, isa.lanes), { M.L1_BLOCK, 2 * M.L1_BLOCK })
end

-- Streaming stores. An output larger than L2 does not stay there, and
-- each line a cached store writes is first read in from L3 or memory
-- (write-allocate), only to be overwritten and later written back.
-- Non-temporal stores skip that read. They need the vector's address
-- aligned to its size, and pay only where each output is written once:
-- not with channel blocks, which read their partial sums back. Measured
-- (avx512, medians of a harness): MobileNet's 32 -> 64 1x1 layer on
-- 112x112 (3.2 MB of output) 285 -> 236 us, its depthwise layer (1.6 MB)
-- 80 -> 71, MobileNetV2's 24 -> 144 expansion (1.8 MB) 100 -> 95,
-- VGG-16's 64-channel 3x3 layer (12.8 MB, 18 ms of arithmetic) unchanged.
-- Under 1 MiB an output may still be in L2 when the next layer reads it.
M.STREAM_MIN_BYTES = 1 << 20

-- Whether tiled plan P can store on target isa with streaming stores:
-- true, or false and why not. The vectors must start on boundaries of
-- their size. An NCHW output row of OW floats (the whole plane when it is
-- one row) gives that when OW is a multiple of the vector: every tile
-- starts at a multiple of its own width or, pulled back, that far from
-- the end of the row.
local function can_stream(L, P, isa)
  local G, A = P.G, isa.lanes
  if not isa.stream_fence then return false, "target " .. isa.name .. " has no streaming stores" end
  if L.activation == "sigmoid" or L.activation == "tanh" then
    return false, "the " .. L.activation .. " activation is stored lane by lane"
  end
  if P.cb < P.cpg then return false, "channel blocks read their partial sums back from the output" end
  if G.YP ~= 1 then return false, "the output's columns are not side by side (NHWC)" end
  if G.YR % A ~= 0 then
    return false, string.format("the output's rows do not start on %d-byte boundaries", 4 * A)
  end
  return true
end

-- Whether the tiled kernel of plan P uses streaming stores: decides
-- (L.stores, then the rule above; layers in a network keep theirs in the
-- cache, where the next layer reads them at once), sets P.stream and
-- returns the line `info` prints.
function M.streaming(L, P, isa)
  P.stream = false
  if L.stores == "cached" then return "cached (field 'stores')" end
  local can, why = can_stream(L, P, isa)
  local bytes = 4 * shape.sizes(L).output
  if L.stores == "streaming" and not can then
    util.fail("%s:%d: layer '%s': field 'stores': \"streaming\" does not apply: %s",
              L.source, L.line, L.name, why)
  elseif L.stores == "auto" then
    if not can then return "cached: " .. why end
    if L.network then
      return "cached: in network '" .. L.network .. "', whose next layer reads the output at once"
    end
    if bytes < M.STREAM_MIN_BYTES then
      return string.format("cached: the output, %d bytes, is under %d", bytes, M.STREAM_MIN_BYTES)
    end
  end
  for _, R in ipairs(P.regions) do
    local cc = R.cols
    for _, x in ipairs(cc.loop and { cc.first, cc.step, cc.last } or { cc.at }) do
      assert(x % isa.lanes == 0, "plan.streaming: a tile starts off a vector boundary")
    end
  end
  P.stream = true
  local line = string.format("streaming, if the output is %d-byte aligned", 4 * isa.lanes)
  if L.stores == "streaming" then return line .. " (field 'stores')" end
  return string.format("%s: %d bytes of output, written once", line, bytes)
end

-- How far the tiled kernel unrolls its channel loop. "short" (the model's
-- choice): as many channels as keep one pass of the loop within
-- TILED_STEP_LINES lines, so a 4x1x4 1x1 tile takes 2 channels a pass and
-- a 3x3 tile one. "long": as many as the code budget allows, up to
-- TILED_MAX_RUN and half a channel block. In interleaved harness runs of
-- the plain entries (avx512, the EPYC) the short loop ran faster than the
-- long one on resnet50_pw1 (2%), mbv1_pw (4%), resnet50_pw2 (8%) and the
-- first layers of MobileNet and VWW (3 channels, run straight through:
-- 5-7%), slower on mbv2_expand (24 channels straight through: 2%) and
-- dscnn_pw (1%). Which wins depends on the layer, so convgen tune times
-- both.
M.UNROLLS = { "short", "long" }

-- Plan the tiled kernel of layer L for a target whose isa module gives
-- lanes and registers. forced, if given, fixes the tile { tf, tr, tv },
-- and its optional unroll the channels per pass of the channel loop: a
-- count (from the spec or a .tuned record; forced.where names it in
-- errors) or one of M.UNROLLS; forced_cb the channel block (see
-- M.channel_block).
-- Within the budget, in order: the best tile with the channel loop unrolled
-- as the unroll says; the same with interior kh loops rolled up; one-row
-- tiles with every kh loop rolled up; the same three without channel
-- blocks. Beyond that, an error.
function M.tiled(L, isa, budget, forced, forced_cb)
  local G = M.geometry(L)
  local V = isa.lanes
  local cpg = L.channels // L.groups
  local fpg = L.filters // L.groups
  local tile = forced and { tf = forced.tf, tr = forced.tr, tv = forced.tv } or M.choose_tile(L, isa)
  tile.tf = math.min(tile.tf, fpg)
  tile.tr = math.min(tile.tr, G.OH)

  -- Baked weights with zeros: the unrolled, zero-skipping kernel when it
  -- fits. (Dense ones gain nothing from it: the usual kernel is as fast.)
  -- Each nonzero weight costs at least a line, so a layer with more of
  -- them than the budget is not counted (that would take long for nothing).
  local unroll_lines
  local nonzeros = L.baked and (#L.baked.weights // 4 - L.baked.zeros)
  if L.baked and L.baked.zeros > 0 and nonzeros > budget then
    unroll_lines = nonzeros
  elseif L.baked and L.baked.zeros > 0 then
    local regions = layout(G, tile, V, "none")
    local bl = blocks(L, tile.tf)
    unroll_lines = unrolled_lines(L, regions, bl, cpg, budget)
    if unroll_lines <= budget then
      local any_taps = false
      for _, r in ipairs(regions) do any_taps = any_taps or #r.taps > 0 end
      return {
        kind = "tiled", G = G, V = V, tile = tile, cu = cpg, cpg = cpg, fpg = fpg,
        f_starts = M.starts(fpg, tile.tf), regions = regions, lines = unroll_lines,
        budget = budget, any_taps = any_taps, blocks = bl, cb = cpg,
        -- Each block's code stays in the instruction cache while the
        -- plane streams by (filters innermost ran 1.5x slower on a 64x64
        -- 1x1 layer: every tile went through all the code).
        order = "filters_outer",
      }
    end
  end

  local order = filters_inner(L, G, tile.tf) and "filters_inner" or "filters_outer"

  -- Each attempt with channel blocks where they pay (the filter tiles
  -- share the input), then, since blocks add border tiles, without.
  local attempts = {}
  for _, blocks in ipairs({ order == "filters_inner", false }) do
    for _, a in ipairs({
      { tile = tile, roll = "none" },
      { tile = tile, roll = "interior" },
      { tile = { tf = tile.tf, tr = 1, tv = tile.tv }, roll = "all" },
    }) do
      a.cb = blocks and M.channel_block(cpg, tile_input_bytes(G, a.tile, V), forced_cb) or cpg
      attempts[#attempts + 1] = a
    end
  end
  local unroll = forced and forced.unroll or "short"
  local regions, cu, lines, cb
  for _, a in ipairs(attempts) do
    cb = a.cb
    local per_channel, step
    regions, per_channel, step = layout(G, a.tile, V, a.roll, cb < cpg)
    lines = REGION_OVERHEAD * #regions + per_channel
    cu = 1
    if a.roll == "none" then
      local forced_cu = math.type(unroll) == "integer"
      if forced_cu then
        if cb % unroll ~= 0 then
          util.fail("%s: field 'tile.unroll': %d channels a pass do not divide the channel block of %d",
                    forced.where, unroll, cb)
        end
        cu = unroll
      else
        -- A straight run of 64 channels made gcc spill a 4x1x4 tile's
        -- accumulators, and ran at half the speed of two runs of 32; that
        -- kernel was also sensitive to where the linker placed it.
        for d = math.min(max_unroll(cb, cpg), M.TILED_MAX_RUN), 1, -1 do
          if cb % d == 0 and REGION_OVERHEAD * #regions + per_channel * d <= budget
             and (unroll == "long" or d == 1 or d * step <= M.TILED_STEP_LINES) then
            cu = d
            break
          end
        end
      end
      lines = REGION_OVERHEAD * #regions + per_channel * cu
      -- One channel a pass is also what the rolled-up attempts below run.
      if forced_cu and unroll > 1 and lines > budget then
        util.fail("%s: field 'tile.unroll': %d channels a pass take %d lines of reduction code, over the code budget of %d",
                  forced.where, unroll, lines, budget)
      end
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
  return {
    kind = "tiled", G = G, V = V, tile = tile, cu = cu, cpg = cpg, fpg = fpg, cb = cb,
    f_starts = M.starts(fpg, tile.tf), regions = regions, lines = lines,
    budget = budget, any_taps = any_taps, order = order, unroll_lines = unroll_lines,
  }
end

return M
