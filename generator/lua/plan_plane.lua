-- plan_plane: the whole-plane kernel behind <name>_run, for small planes.
--
-- When a row is shorter than a vector (DS-CNN's 25x5 depthwise layer:
-- five pixels in a 16-float vector), the tiled kernel wastes most lanes
-- and the filter-vectorized one has no filters to vectorize in a
-- depthwise group. But in NCHW with stride 1 and an output row as wide as
-- the input row (OW = W: "same" padding across), output pixel p = oh*OW +
-- ow reads input pixel p + (kh*DH - PT)*W + kw*DW - PL for every p: the
-- plane is one long row, each tap a constant shift of it. A tile is then
-- TF filters of a group times a run of the plane's vectors (all of them
-- when they fit in the registers, else the plane goes in a few runs);
-- each tap broadcasts TF weights and loads the run's shifted vectors.
-- Every vector is placed at generation time, so the lanes whose
-- pixel falls in the padding (above or below the image, or across the
-- left or right edge, where the shift wraps into the next row) are known
-- at generation time: each load is masked with its own constant, and a
-- load with no lane left is not emitted. The output plane is contiguous,
-- so the stores are plain vector stores.
--
-- The packed weights are the weights and the bias as they are (as for the
-- tiled kernel); only <name>_run uses this kernel.

local plan = import "plan"

local M = {}

local ceil_div = plan.ceil_div

-- Planes of more vectors are left to the tiled kernel, whose rows are
-- then long enough (this also bounds the masks computed here).
M.MAX_VECTORS = 64

-- Why the family does not apply to L on isa, or nil when it does.
function M.why_not(L, isa)
  if not isa.plane_fma then return "the target has no masked loads" end
  if L.layout ~= "nchw" then return "needs NCHW" end
  if L.stride_h ~= 1 or L.stride_w ~= 1 then return "needs stride 1" end
  if L.out_w ~= L.width then return "needs output rows as wide as the input's (padding that keeps the width)" end
  if ceil_div(L.out_h * L.out_w, isa.lanes) > M.MAX_VECTORS then
    return string.format("the %dx%d output plane is larger than %d vectors (the tiled kernel serves it)",
                         L.out_h, L.out_w, M.MAX_VECTORS)
  end
  return nil
end

-- The lanes of vector i (a bit mask) whose output pixels read input
-- inside the image at tap (kh, kw).
local function lane_mask(L, V, i, kh, kw)
  local m = 0
  for l = 0, V - 1 do
    local p = i * V + l
    if p < L.out_h * L.out_w then
      local ih = p // L.out_w + kh * L.dilation_h - L.pad_top
      local iw = p % L.out_w + kw * L.dilation_w - L.pad_left
      if ih >= 0 and ih < L.height and iw >= 0 and iw < L.width then m = m | (1 << l) end
    end
  end
  return m
end

-- Modelled cycles per multiply-add (see plan.tile_cost, which counts the
-- padding's too) of tiles of tf filters over the runs of vectors: per tap
-- and run, the loads (unaligned: split cache lines as in plan.tile_cost)
-- and multiply-adds the masks leave in, and at least an FMA's latency.
function M.tile_cost(L, taps, runs, nv, V, tf)
  local fpg, cpg = L.filters // L.groups, L.channels // L.groups
  local split = 1 + V * 4 / 64
  local cycles = 0
  for _, run in ipairs(runs) do
    for _, t in ipairs(taps) do
      local n = 0
      for _, v in ipairs(t.vectors) do
        if v.i >= run.first and v.i < run.first + run.count then n = n + 1 end
      end
      if n > 0 then cycles = cycles + math.max(tf * n / 2, (tf + n * split) / 2, 4) end
    end
  end
  cycles = cpg * cycles + 2 * tf * nv   -- and the stores
  local macs = cpg * L.kernel_h * L.kernel_w * L.out_h * L.out_w * tf
  return cycles / macs * (ceil_div(fpg, tf) * tf / fpg)
end

-- Plan the kernel of L for isa, or return nil (with the reason) when the
-- family does not apply or does not fit the budget. forced_tf fixes the
-- filters per tile.
function M.plan(L, isa, budget, forced_tf)
  local why = M.why_not(L, isa)
  if why then return nil, why end
  local G = plan.geometry(L)
  local V = isa.lanes
  local P = L.out_h * L.out_w
  local nv = ceil_div(P, V)
  local fpg, cpg = L.filters // L.groups, L.channels // L.groups
  -- The taps: the input offset of (kh, kw) in the plane and its loads.
  local taps = {}
  for kh = 0, L.kernel_h - 1 do
    for kw = 0, L.kernel_w - 1 do
      local t = { w = kh * L.kernel_w + kw,
                  off = (kh * L.dilation_h - L.pad_top) * L.width + kw * L.dilation_w - L.pad_left,
                  vectors = {} }
      for i = 0, nv - 1 do
        local m = lane_mask(L, V, i, kh, kw)
        if m ~= 0 then t.vectors[#t.vectors + 1] = { i = i, mask = m } end
      end
      if #t.vectors > 0 then taps[#taps + 1] = t end
    end
  end
  -- Runs of at most registers - 3 vectors, as even as they come; then
  -- the most filters whose accumulators, weights and a loaded vector fit.
  local nruns = ceil_div(nv, isa.registers - 3)
  local per_run = ceil_div(nv, nruns)
  local runs = {}
  for first = 0, nv - 1, per_run do runs[#runs + 1] = { first = first, count = math.min(per_run, nv - first) } end
  local tf = math.max(1, math.min(forced_tf or fpg, fpg, (isa.registers - 2) // (per_run + 1)))
  local per_channel = 0
  for _, t in ipairs(taps) do per_channel = per_channel + #runs * tf + #t.vectors * (1 + tf) end
  local cu
  for d = plan.max_unroll(cpg, cpg), 1, -1 do
    if cpg % d == 0 and 8 * #runs + per_channel * d <= budget then cu = d; break end
  end
  if not cu then return nil, string.format("over the code budget (%d lines of reduction code per channel, budget %d)", 8 + per_channel, budget) end
  local lanes = {}
  for i = 0, nv - 1 do lanes[i] = math.min(V, P - i * V) end
  return {
    kind = "plane", G = G, V = V, nv = nv, runs = runs, tf = tf, taps = taps, cu = cu, cpg = cpg,
    fpg = fpg, f_starts = plan.starts(fpg, tf), lanes = lanes, lines = 8 * #runs + per_channel * cu,
    budget = budget, cost = M.tile_cost(L, taps, runs, nv, V, tf),
  }
end

return M
