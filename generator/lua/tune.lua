-- tune: the variants convgen tune times, and the record it leaves.
--
-- `convgen tune SPEC` builds each candidate variant of every layer with the
-- system compiler, times its packed entry on this machine and writes the
-- fastest to SPEC.tuned beside the spec, as data:
--
--   tuned { layer = "conv1", target = "avx512", packed_kernel = "filter_vectors",
--           tile = { filters = 6, rows = 4, vectors = 1, channels = 64, unroll = 1 },
--           fv_tile = { vectors = 2, rows = 1, pixels = 14, channels = 64 } }
--
-- channels is the channel block (generator/lua/plan.lua); a tile recorded
-- without it runs unblocked, as it was timed. unroll is the channels the
-- tiled kernel's channel loop takes a pass (plan.UNROLLS); without it the
-- model chooses. tile is the plain entry's
-- tiled kernel, and plain_kernel says whether the plain entry runs it
-- ("tiled") or the whole-plane kernel ("planes"), whichever ran faster;
-- a record without plain_kernel (written before it existed) leaves that
-- to the model.
--
-- When convgen loads SPEC it also loads SPEC.tuned if there is one, and
-- generating a layer for a recorded target uses the recorded choices, so
-- the timing is not repeated. Fields written in the spec itself win.

local util = import "util"
local plan = import "plan"
local plan_fv = import "plan_fv"
local plan_plane = import "plan_plane"

local M = {}

local fail = util.fail

local function int_field(path, line, t, key, sub)
  local v = t[key] and t[key][sub]
  if math.type(v) ~= "integer" or v < 1 then
    fail("%s:%d: tuned: field '%s.%s' must be a positive integer", path, line, key, sub)
  end
  return v
end

-- Parse the text of a .tuned file into { [layer] = { [target] = record } }.
function M.parse(path, text, sandbox_call)
  local records = {}
  local function tuned(t)
    local line = debug.getinfo(2, "l").currentline
    if type(t) ~= "table" or type(t.layer) ~= "string" or type(t.target) ~= "string" then
      fail("%s:%d: tuned { } needs layer and target strings", path, line)
    end
    local r = { packed_kernel = t.packed_kernel or "auto" }
    if r.packed_kernel ~= "auto" and r.packed_kernel ~= "tiled" and r.packed_kernel ~= "filter_vectors"
       and r.packed_kernel ~= "planes" then
      fail("%s:%d: tuned: unknown packed_kernel %q", path, line, tostring(r.packed_kernel))
    end
    r.plain_kernel = t.plain_kernel
    if r.plain_kernel ~= nil and r.plain_kernel ~= "tiled" and r.plain_kernel ~= "planes" then
      fail("%s:%d: tuned: plain_kernel must be \"tiled\" or \"planes\", not %q", path, line, tostring(r.plain_kernel))
    end
    r.where = path .. ":" .. line
    if t.tile then
      r.tile = { tf = int_field(path, line, t, "tile", "filters"), tr = int_field(path, line, t, "tile", "rows"),
                 tv = int_field(path, line, t, "tile", "vectors"),
                 cb = t.tile.channels == nil and math.maxinteger or int_field(path, line, t, "tile", "channels"),
                 unroll = t.tile.unroll ~= nil and int_field(path, line, t, "tile", "unroll") or nil,
                 where = string.format("%s:%d: tuned record of layer '%s'", path, line, t.layer) }
    end
    if t.fv_tile then
      r.fv_tile = { tv = int_field(path, line, t, "fv_tile", "vectors"), tr = int_field(path, line, t, "fv_tile", "rows"),
                    tp = int_field(path, line, t, "fv_tile", "pixels"),
                    cb = t.fv_tile.channels == nil and math.maxinteger or int_field(path, line, t, "fv_tile", "channels") }
    end
    records[t.layer] = records[t.layer] or {}
    records[t.layer][t.target] = r
  end
  local chunk, err = load(text, "@" .. path, "t", { tuned = tuned })
  if not chunk then fail("%s", err) end
  local ok, e = sandbox_call(chunk)
  if not ok then
    if util.is_user_error(e) then error(e, 0) end
    fail("%s", tostring(e))
  end
  return records
end

-- The variants worth timing for layer L on isa: the model's best few
-- tiles of each kernel family, best first, then its good ones with the
-- fewest loads per multiply-add;
-- each unblocked and with the channel blocks plan.block_choices gives.
function M.candidates(L, isa, per_family, budget)
  local G = plan.geometry(L)
  local list = {}
  local scored = {}
  local fpg = L.filters // L.groups
  local V = isa.lanes
  for tf = 1, math.min(fpg, isa.registers - 2) do
    for tr = 1, math.min(G.OH, isa.registers) do
      for tv = 1, math.min(plan.ceil_div(G.OW, V), 4) do
        if (tv == 1 or tv * V <= G.OW) and tf * tr * tv + tf + 1 <= isa.registers then
          scored[#scored + 1] = { cost = plan.tile_cost(L, G, isa, tf, tr, tv),
                                  v = { packed_kernel = "tiled", tile = { tf = tf, tr = tr, tv = tv } } }
        end
      end
    end
  end
  if not plan_fv.why_not(L, isa) then
    -- Tiles one register short too: on x86 their last weight vector stays
    -- in memory, read by the multiply-adds (plan_fv.memory_weights);
    -- resnet50_pw_s2's 4x1x7 wins that way.
    local nb = plan.ceil_div(plan_fv.vector_filters(L), V)
    for tv = 1, math.min(nb, 4) do
      for tr = 1, math.min(G.OH, isa.registers) do
        for tp = 1, math.min(G.OW, isa.registers) do
          if tv * tr * tp + tv <= isa.registers then
            scored[#scored + 1] = { cost = plan_fv.tile_cost(L, G, isa, tv, tr, tp),
                                    v = { packed_kernel = "filter_vectors", fv_tile = { tv = tv, tr = tr, tp = tp } } }
          end
        end
      end
    end
  end
  table.sort(scored, function(a, b)
    if a.cost ~= b.cost then return a.cost < b.cost end
    local ta, tb = a.v.tile or a.v.fv_tile, b.v.tile or b.v.fv_tile
    return (ta.tf or ta.tv) * 1000000 + ta.tr * 1000 + (ta.tv or ta.tp)
         < (tb.tf or tb.tv) * 1000000 + tb.tr * 1000 + (tb.tv or tb.tp)
  end)
  -- Per family, the model's best few tiles, then the two with the fewest
  -- loads per multiply-add among those within 15% of its best: the model
  -- counts only the busiest port, and fewer loads often win.
  local chosen, best, taken = {}, {}, { tiled = 0, filter_vectors = 0 }
  for _, s in ipairs(scored) do
    local k = s.v.packed_kernel
    best[k] = best[k] or s.cost
    if taken[k] < per_family then
      taken[k] = taken[k] + 1
      chosen[#chosen + 1], s.taken = s, true
    end
  end
  local function accumulators(s)
    local t = s.v.tile or s.v.fv_tile
    return (t.tf or t.tv) * t.tr * (t.tp or t.tv)
  end
  local function loads(s)
    local t = s.v.tile
    if t then return t.tr * t.tv + t.tf end
    t = s.v.fv_tile
    return t.tv + t.tr * t.tp
  end
  local function load_ratio(s) return loads(s) / accumulators(s) end
  local big = {}
  for _, s in ipairs(scored) do
    if not s.taken and s.cost <= best[s.v.packed_kernel] * 1.15 then big[#big + 1] = s end
  end
  table.sort(big, function(a, b)
    local ra, rb = load_ratio(a), load_ratio(b)
    if math.abs(ra - rb) > 1e-9 then return ra < rb end
    if accumulators(a) ~= accumulators(b) then return accumulators(a) > accumulators(b) end
    return a.cost < b.cost
  end)
  local extra = { tiled = 0, filter_vectors = 0 }
  for _, s in ipairs(big) do
    local k = s.v.packed_kernel
    if extra[k] < 2 then extra[k] = extra[k] + 1; chosen[#chosen + 1] = s end
  end
  -- The whole-plane kernel has one variant: its tile is as large as fits.
  if plan_plane.plan(L, isa, budget) then
    list[#list + 1] = { packed_kernel = "planes" }
  end
  -- Each tile unblocked and with the channel blocks worth trying; a tiled
  -- one with its channel loop short and long (plan.UNROLLS), where the two
  -- differ.
  for _, s in ipairs(chosen) do
    local k = s.v.packed_kernel
    local t = s.v.tile or s.v.fv_tile
    local blocks = k == "tiled" and plan.block_choices(L, isa, t) or plan_fv.block_choices(L, isa, t)
    for _, cb in ipairs(blocks) do
      if k ~= "tiled" then
        local bt = { tv = t.tv, tr = t.tr, tp = t.tp, cb = cb }
        list[#list + 1] = { packed_kernel = k, cost = s.cost, fv_tile = bt }
      else
        local seen = {}
        for _, unroll in ipairs(plan.UNROLLS) do
          local bt = { tf = t.tf, tr = t.tr, tv = t.tv, cb = cb, unroll = unroll }
          local ok, P = pcall(plan.tiled, L, isa, budget, bt, cb)
          if not ok and not util.is_user_error(P) then error(P, 0) end
          if ok and not seen[P.cu] then
            seen[P.cu], bt.cu = true, P.cu
            list[#list + 1] = { packed_kernel = k, cost = s.cost, tile = bt }
          elseif not ok and unroll == plan.UNROLLS[1] then
            list[#list + 1] = { packed_kernel = k, cost = s.cost, tile = bt }  -- its build says why
          end
        end
      end
    end
  end
  return list
end

function M.describe(v)
  if v.packed_kernel == "planes" then return "planes" end
  if v.packed_kernel == "filter_vectors" then
    local t = v.fv_tile
    return string.format("filter_vectors %dx%dx%d c%d", t.tv, t.tr, t.tp, t.cb)
  end
  local t = v.tile
  return string.format("tiled %dx%dx%d c%d", t.tf, t.tr, t.tv, t.cb) .. (t.cu and string.format(" u%d", t.cu) or "")
end

-- The .tuned line recording variant v for the packed entry and variant
-- plain (nil when none was timed: a tiled one, or the whole plane) for
-- the plain entry, for layer L and target.
function M.record(L, target, v, plain)
  local parts = { string.format("tuned { layer = %q, target = %q, packed_kernel = %q", L.name, target, v.packed_kernel) }
  if plain then
    parts[#parts + 1] = string.format("plain_kernel = %q", plain.packed_kernel == "planes" and "planes" or "tiled")
  end
  local t = plain and plain.tile or v.tile
  if t then
    parts[#parts + 1] = string.format("tile = { filters = %d, rows = %d, vectors = %d, channels = %d%s }",
                                      t.tf, t.tr, t.tv, t.cb, t.cu and string.format(", unroll = %d", t.cu) or "")
  end
  if v.fv_tile then
    local f = v.fv_tile
    parts[#parts + 1] = string.format("fv_tile = { vectors = %d, rows = %d, pixels = %d, channels = %d }",
                                      f.tv, f.tr, f.tp, f.cb)
  end
  return table.concat(parts, ", ") .. " }\n"
end

return M
