-- plan_fv: the filter-vectorized kernel behind <name>_run.
--
-- With the weights packed once (<name>_pack) as vectors of V consecutive
-- filters per tap, a tile holds TV filter vectors x TR output rows x TP
-- output pixels per row in accumulators; each tap loads TV weight vectors
-- (aligned: never split across cache lines) and broadcasts TR*TP input
-- pixels. The vector runs along the filters, so no lane is lost to a row
-- shorter than a vector and any stride or dilation costs the same; the
-- price is a transposed (scattered) store of each finished accumulator.
-- Depthwise layers have no filters to vectorize within a group; in NHWC,
-- where a pixel's channels lie side by side, a depthwise layer with one
-- filter per channel vectorizes across its groups instead: each pixel
-- loads a vector of channels in place of the broadcast (the "channel"
-- form). Other depthwise layers keep the tiled kernel.
--
-- Tile placement, border classes and the code budget work as in plan.lua,
-- with pixels in place of vector lanes. Filter tiles are outermost, so a
-- tile's weights are what the tile positions share; channel blocks (as in
-- plan.lua) go between the filter tile and the tile positions, so that a
-- block of the weights stays in L1 while every position uses it. They are
-- used only when forced (or tuned): the partial sums go out and back in
-- as scatters and gathers, which on resnet50's 1x1 layers cost more than
-- the weights' L2 traffic they save.
--
-- Row groups: as the filter tiles are outermost, each of them reads the
-- whole input again. When that input is larger than L2_BLOCK it falls out
-- of L2 between filter tiles and comes from L3 every time, so the tile
-- rows go in groups whose input fits, each group passing through every
-- filter tile before the next starts (resnet50's 1x1 stride-2 layer: 8%).
-- Only 1x1 kernels get them unasked (see M.row_groups).

local plan = import "plan"
local shape = import "shape"

local M = {}

local ceil_div = plan.ceil_div

-- True when L takes the channel form: NHWC, depthwise, one filter each.
function M.channel_form(L)
  return L.layout == "nhwc" and L.groups > 1 and L.groups == L.channels
         and L.filters == L.groups
end

-- The filters one weight vector runs along (a group's, or in the channel
-- form all of them), or nil when the family does not apply.
function M.vector_filters(L)
  if M.channel_form(L) then return L.filters end
  local fpg = L.filters // L.groups
  return fpg > 1 and fpg or nil
end

-- Why the family does not apply to L on isa, or nil when it does. A
-- target with neither a scatter (isa.fv_scatter) nor row stores through
-- a transpose (isa.fv_store_rows) stores filter vectors only where they
-- lie side by side: in NHWC outputs.
function M.why_not(L, isa)
  if not isa.fv then return "the target has no filter-vector operations" end
  if not M.vector_filters(L) then return "one filter per group (depthwise)" end
  if not isa.fv_scatter and not isa.fv_store_rows and L.layout ~= "nhwc" then
    return "the target has no scatter to store filter vectors into NCHW planes"
  end
  return nil
end

M.L2_BLOCK = 768 << 10          -- bytes of input a row group reads, meant to stay in L2

-- Modelled cycles per useful multiply-add (see plan.tile_cost): TV aligned
-- weight loads (or a load per multiply-add for those left in memory) and
-- TR*TP broadcasts per tap; storing an accumulator costs
-- about eight cycles as a scatter, three as a transpose into rows
-- (isa.fv_store_rows), and a store of filters that lie side by side
-- (NHWC) as much as the tiled kernel's.
function M.tile_cost(L, G, isa, tv, tr, tp)
  local V = isa.lanes
  local fpg = M.vector_filters(L) or 1
  local taps = (L.channels // L.groups) * G.KH * G.KW
  local fmas = tv * tr * tp
  -- (the channel form loads a vector per pixel and filter vector; weight
  -- vectors left in memory are loaded by each multiply-add)
  local channels = M.channel_form(L)
  local wmem = M.memory_weights({ tv = tv, tr = tr, tp = tp }, isa, channels)
  local loads = tv - wmem + tr * tp * (channels and tv or 1 + wmem)
  -- At least five cycles a tap: a tile needs 10 or more accumulators to
  -- keep two FMA pipes of latency 4 busy once its loads are in (with a
  -- floor of four the model chose 2x2x2 tiles on avx2 for ResNet-18's
  -- 3x3 layers, slower than the tiled kernel there).
  local cycles = math.max(fmas / 2, loads / 2, 5)
  local store = G.YF == 1 and 2 or isa.fv_store_rows and 3 or 9
  local tile_cycles = taps * cycles + store * fmas
  local nb = ceil_div(fpg, V)
  local useful = G.OH * G.OW * fpg
  local computed = ceil_div(G.OH, tr) * tr * ceil_div(G.OW, tp) * tp
                   * ceil_div(nb, tv) * tv * V
  return tile_cycles / (taps * fmas * V) * computed / useful
end

-- How many of a tile's weight vectors its multiply-adds read from memory
-- rather than from registers: on targets whose multiply-adds take a memory
-- operand (isa.fma_mem), as many as the tile's accumulators, weight
-- vectors and broadcast pixel exceed the registers by (tune tries tiles
-- one register short, and the model takes them for 1x1 NCHW layers).
-- Elsewhere, and in the channel form, none: the compiler spills.
function M.memory_weights(tile, isa, channel_form)
  if not isa.fma_mem or channel_form then return 0 end
  local over = tile.tv * tile.tr * tile.tp + tile.tv + 1 - isa.registers
  return math.max(0, math.min(over, tile.tv))
end

-- The tile of lowest modelled cost; of equal costs, the one with the most
-- accumulators. In 1x1 NCHW layers each broadcast pixel comes from its
-- own plane, far from the last, while the weight vectors lie side by
-- side; there equal costs go to more filter vectors (fewer broadcasts),
-- and on targets whose multiply-adds take a memory operand the tile may
-- be one register short (M.memory_weights). resnet50_pw_s2 and pw2
-- (avx512, one thread, in a harness): 2x1x14 147 and 171 GFLOP/s, 4x1x7
-- 162 and 188.
function M.choose_tile(L, isa)
  local G = plan.geometry(L)
  local nb = ceil_div(M.vector_filters(L) or 1, isa.lanes)
  local planes = G.KH * G.KW == 1 and G.XP == 1 and not M.channel_form(L)
  local spare = planes and isa.fma_mem and 0 or 1
  local best
  for tv = 1, math.min(nb, 4) do
    for tr = 1, math.min(G.OH, isa.registers) do
      for tp = 1, math.min(G.OW, isa.registers) do
        if tv * tr * tp + tv + spare <= isa.registers then
          local cost = M.tile_cost(L, G, isa, tv, tr, tp)
          local size, best_size = tv * tr * tp, best and best.tv * best.tr * best.tp
          if not best or cost < best.cost - 1e-9
             or (math.abs(cost - best.cost) <= 1e-9
                 and (size > best_size or (planes and size == best_size and tv > best.tv))) then
            best = { tv = tv, tr = tr, tp = tp, cost = cost }
          end
        end
      end
    end
  end
  return { tv = best.tv, tr = best.tr, tp = best.tp }, best.cost
end

-- The taps of one region: for each (kh, kw), the pixels (row r, pixel j)
-- whose input lies inside the image, with their input offsets. With
-- roll_kh (one-row tiles only) kh becomes a loop over the row's range,
-- R.kh_loop, and the taps are listed for kw only, their offsets relative
-- to the loop's kh (as in plan.lua).
local function expand_region(G, tile, rc, cc, roll_kh)
  local rows = rc.loop and plan.full_ranges(tile.tr, G.KH) or rc.ranges
  local cols = cc.loop and plan.full_ranges(tile.tp, G.KW) or cc.ranges
  local region = { rows = rc, cols = cc, taps = {}, pixels = {} }
  for r = 0, tile.tr - 1 do
    for j = 0, tile.tp - 1 do
      if rows[r] and cols[j] then region.pixels[#region.pixels + 1] = { r = r, j = j } end
    end
  end
  assert(not roll_kh or tile.tr == 1, "roll_kh: one-row tiles only")
  local kh_list
  kh_list, region.kh_loop = plan.kh_taps(G, rows, tile.tr, roll_kh, G.KW)
  for _, kh in ipairs(kh_list) do
    for kw = 0, G.KW - 1 do
      local pixels = {}
      for _, p in ipairs(region.pixels) do
        local rr, cr = rows[p.r], cols[p.j]
        if (roll_kh or (kh >= rr[1] and kh < rr[2])) and kw >= cr[1] and kw < cr[2] then
          pixels[#pixels + 1] = { r = p.r, j = p.j,
            x = (p.r * G.SH + kh * G.DH) * G.XR + (p.j * G.SW + kw * G.DW) * G.XP }
        end
      end
      if #pixels > 0 then
        -- w: the tap in the packed weights, which _pack orders (c, kh, kw)
        -- whatever the layout.
        region.taps[#region.taps + 1] = { w = kh * G.KW + kw, pixels = pixels }
      end
    end
  end
  return region
end

-- Bytes of packed weights a tile of tv filter vectors reads per channel.
local function weight_bytes(L, V, tv)
  return tv * V * L.kernel_h * L.kernel_w * 4
end

-- Whether plans of L on isa may have channel blocks: the partial sums
-- must load back, one pixel at a time (isa.fv_acc_load) or as rows
-- (isa.fv_load_rows), which packed_fv.c.in uses for NCHW planes of more
-- than one pixel (in a one-pixel plane the filters lie side by side).
local function can_block(L, isa)
  return isa.fv_acc_load
         or (isa.fv_load_rows and L.layout == "nchw" and L.out_h * L.out_w > 1)
end

-- The channel blocks convgen tune tries with fv tile t (see tune.lua):
-- besides all channels, a block whose weights stay in L1, and one whose
-- weights stay in L2 (L2_WEIGHTS) while every tile position uses them.
-- The second is for layers whose weights come from memory: unblocked,
-- a filter tile reads all of its weights from memory at its first
-- position and from L2 at the others; in blocks, that reading spreads
-- over all positions. resnet18_512 (avx512, 2x1x7 tile, 9.4 MB of
-- weights, harness with the data evicted before each call): about 159
-- GFLOP/s unblocked, 176 in blocks of 128 channels.
M.L2_WEIGHTS = 256 << 10

function M.block_choices(L, isa, t)
  if M.channel_form(L) or not can_block(L, isa) then return { L.channels // L.groups } end
  local nb = ceil_div(M.vector_filters(L) or 1, isa.lanes)
  return plan.distinct_blocks(L.channels // L.groups, weight_bytes(L, isa.lanes, math.min(t.tv, nb)),
                              { 2 * plan.L1_BLOCK, M.L2_WEIGHTS })
end

-- Plan the packed kernel of L for isa, or return nil (with the reason)
-- when this family does not apply or does not fit the budget. forced
-- fixes the tile { tv, tr, tp }, forced_cb the channel block, forced_rg
-- the output rows per row group (the tile's rows are lowered to fit).
function M.plan(L, isa, budget, forced, forced_cb, forced_rg)
  local why = M.why_not(L, isa)
  if why then return nil, why end
  local fpg = M.vector_filters(L)
  local G = plan.geometry(L)
  local V = isa.lanes
  local cpg = L.channels // L.groups
  local tile = forced or M.choose_tile(L, isa)
  local nb = ceil_div(fpg, V)
  tile = { tv = math.min(tile.tv, nb), tr = math.min(tile.tr, G.OH, forced_rg or G.OH), tp = math.min(tile.tp, G.OW) }
  -- Blocks reload partial sums, which not every target can.
  local cb = can_block(L, isa) and plan.channel_block(cpg, weight_bytes(L, V, tile.tv), forced_cb or cpg)
             or cpg
  local F = M.layout(L, G, V, tile, cpg, cb, budget)
  -- Blocks add border tiles: without them, the kernel may still fit.
  -- Then one-row tiles with their kh taps rolled into loops (a 7x7 first
  -- layer's borders need it).
  if not F and cb < cpg then F = M.layout(L, G, V, tile, cpg, cpg, budget) end
  if not F and G.KH > 1 then
    tile = { tv = tile.tv, tr = 1, tp = tile.tp }
    F = M.layout(L, G, V, tile, cpg, cb, budget, true)
  end
  if not F then return nil, "over the code budget" end
  F.wmem = M.memory_weights(tile, isa, F.channels)
  F.cost = M.tile_cost(L, G, isa, tile.tv, tile.tr, tile.tp)
  M.row_groups(L, F, forced_rg)
  F.wprefetch = M.weight_prefetch(L, F, isa)
  return F
end

-- Weight prefetch. A filter tile reads a block of its weights (the
-- channel block's, or all of them unblocked) from L3 or memory at its
-- first tile position and from L2 at the others, so that first position
-- waits for them. Instead, every channel step of every position can
-- prefetch its share of the next block's weights (the next channel block,
-- or the next filter tile's first), so the block streams in while the
-- previous one computes. That pays where the weights come from memory at
-- every call, more than PREFETCH_WEIGHTS (about what one core finds of
-- L3 here): resnet18_512 (9 MiB; avx512, one thread, bench runs of the
-- layer alone) 152-172 -> 180-197 GFLOP/s in a slow hour, 179-192 ->
-- 179-208 in a fast one, and 133-165 -> 159-190 in full bench runs. From
-- L3 the hardware prefetchers keep up, and the prefetches cost more than
-- they save: resnet18_256 (2.25 MiB) ran 2-5% slower with them,
-- mbv1_pw_last (4 MiB) 2%, vgg16_256 (2.25 MiB) the same. Not with row
-- groups (a block's positions then differ from group to group) nor in the
-- channel form (one channel's weights).
-- The schedule: the first `lines` of the `block_lines` 64-byte lines of
-- each filter vector's block, `per_step` of them per channel step, the
-- step's index counting `steps` channel steps per position from the
-- region's first position `base[i]`. A block with few positions would
-- need hundreds of prefetches per step (a 2x2 plane: 576 lines each); at
-- most PREFETCH_PER_STEP lines go per step, so there only the block's
-- start is prefetched, the part its first steps read. None when no tile
-- position reads the input (every output sees only padding).
M.PREFETCH_WEIGHTS = 4 << 20
M.PREFETCH_PER_STEP = 8

function M.weight_prefetch(L, F, isa)
  if not isa.prefetch or F.channels or F.row_groups then return nil end
  if F.groups * F.nb * F.K * F.V * 4 <= M.PREFETCH_WEIGHTS then return nil end
  local base, positions = {}, 0
  for i, R in ipairs(F.regions) do
    base[i] = positions
    if #R.taps > 0 then
      positions = positions + (R.rows.loop and R.rows.count or 1) * (R.cols.loop and R.cols.count or 1)
    end
  end
  if positions == 0 then return nil end
  local steps = F.cb // F.cu
  local block_lines = ceil_div(F.cb * L.kernel_h * L.kernel_w * F.V, 16)
  local per_step = math.min(ceil_div(block_lines, positions * steps), M.PREFETCH_PER_STEP)
  return { base = base, steps = steps, block_lines = block_lines, per_step = per_step,
           lines = math.min(block_lines, per_step * positions * steps) }
end

-- Split the row loops of plan F into F.row_groups groups (see the top of
-- this file): rc.group_rows tile rows of each loop class per group, and
-- the border rows before the loop in the first group (rc.group = 0), the
-- others in the last. Forced (output rows per group) whenever a loop is
-- longer, else only for 1x1 kernels whose input outgrows L2_BLOCK, with
-- several filter tiles to share it: a larger kernel does enough work per
-- input byte to hide the refetch (vgg16's 3x3 layer of 3.2 MB of input
-- gained nothing from groups).
function M.row_groups(L, F, forced)
  local G, rows, longest = F.G, {}, nil
  for _, R in ipairs(F.regions) do
    local rc = R.rows
    if not rows[rc] then
      rows[rc] = true
      rows[#rows + 1] = rc
      if rc.loop and (not longest or rc.count > longest.count) then longest = rc end
    end
  end
  if not longest then return end
  local want = forced and math.max(1, forced // F.tile.tr)
  if not want then
    local per_row = F.tile.tr * G.SH * G.W * F.cpg * 4
    if #F.b_starts < 2 or G.KH * G.KW > 1 or G.H * G.W * F.cpg * 4 <= M.L2_BLOCK then return end
    want = math.max(1, M.L2_BLOCK // per_row)
  end
  local groups = ceil_div(longest.count, want)
  if groups < 2 then return end
  F.row_groups = groups
  for _, rc in ipairs(rows) do
    if rc.loop then
      rc.group_rows = ceil_div(rc.count, groups)
    else
      rc.group = rc.at < longest.first and 0 or groups - 1
    end
  end
end

-- The plan of tile with channel blocks of cb (and kh loops with
-- roll_kh), or nil over the budget.
function M.layout(L, G, V, tile, cpg, cb, budget, roll_kh)
  local fpg = M.vector_filters(L)
  local channels = M.channel_form(L)
  -- The channel form is one group of all the filters, each reading its
  -- own channel: one channel's taps in the reduction.
  local groups = channels and 1 or L.groups
  local nb = ceil_div(fpg, V)
  local rows = plan.axis_classes(G.OH, tile.tr, G.KH, function(o)
    return shape.tap_range(o, G.H, G.KH, G.SH, G.DH, G.PT)
  end, cb < cpg)
  local cols = plan.axis_classes(G.OW, tile.tp, G.KW, function(o)
    return shape.tap_range(o, G.W, G.KW, G.SW, G.DW, G.PL)
  end, cb < cpg)
  local regions, per_channel, any_taps = {}, 0, false
  for _, rc in ipairs(rows) do
    for _, cc in ipairs(cols) do
      local R = expand_region(G, tile, rc, cc, roll_kh)
      regions[#regions + 1] = R
      for _, t in ipairs(R.taps) do
        per_channel = per_channel + tile.tv + #t.pixels * (channels and 2 * tile.tv or 1 + tile.tv)
      end
      any_taps = any_taps or #R.taps > 0
    end
  end
  local overhead = 8 * #regions
  local cu
  for d = plan.max_unroll(cb, cpg), 1, -1 do
    if cb % d == 0 and overhead + per_channel * d <= budget then cu = d; break end
  end
  if not cu then return nil end
  local K = cpg * L.kernel_h * L.kernel_w
  return {
    kind = "fv", G = G, V = V, tile = tile, cu = cu, cpg = cpg, fpg = fpg, cb = cb,
    groups = groups, channels = channels,
    nb = nb, b_starts = plan.starts(nb, tile.tv), regions = regions,
    lines = overhead + per_channel * cu, budget = budget, any_taps = any_taps,
    K = K, packed = groups * nb * V * (K + 1),
  }
end

return M
