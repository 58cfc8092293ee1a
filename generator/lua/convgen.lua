-- convgen: the generator's entry points, called by the C host (cg_gen.c).
--
-- The host loads spec files with api.load, then asks for each layer's
-- resolved parameters (api.params), generated sources (api.emit) or
-- report (api.info). Layers are numbered from 1 in load order.

local util = import "util"
local shape = import "shape"
local spec = import "spec"
local plan = import "plan"
local plan_fv = import "plan_fv"
local plan_plane = import "plan_plane"
local tune = import "tune"
local template = import "template"
local network = import "network"

local api = {}
local layers = {}
local by_name = {}   -- upper-cased name -> layer or network
local networks = {}

-- Targets: each has templates/conv2d/<target>/isa.lua; "native" picks
-- the best one the machine running convgen supports.
api.TARGETS = { "generic", "avx2", "avx512", "neon", "native" }

local function basename(path) return (path:match("([^/]+)$")) or path end

-- The plain entry runs the whole-plane kernel in place of the tiled one
-- when the model costs it under this share of the tiled kernel. Closer
-- than that the model is not to be trusted (avx512, cc -O3: resnet18_256
-- is modelled 3% and resnet50_pw2 13% cheaper as a plane, and measured
-- 43% and 25% slower), while the layers under it gain a lot (DS-CNN's
-- 25x5 depthwise layer, modelled at 33% of the tiled cost, runs in 1.9 us
-- instead of 4.3; resnet18_512, at 50%, in 1.4 ms instead of 2.5).
local PLAIN_PLANE_SHARE = 2 / 3

-- Load a spec's text, and the text of its .tuned record if it has one.
function api.load(path, text, tuned_path, tuned_text)
  host.set_context(path)
  local new, nets = spec.load(path, text, host.sandbox_call)
  if #layers + #new > spec.MAX_LAYERS then
    util.fail("%s: more than %d layers in all (convgen's limit for one run)", path, spec.MAX_LAYERS)
  end
  local records = tuned_text and tune.parse(tuned_path, tuned_text, host.sandbox_call) or {}
  for _, L in ipairs(new) do L.tuned = records[L.name] end
  -- Layers and networks share one name space: both become files and macros.
  local seen = {}
  local function claim(kind, X)
    local key = X.name:upper()
    local other = by_name[key] or seen[key]
    if other then
      util.fail("%s:%d: %s '%s': name clashes with %s '%s' at %s:%d (names must differ even ignoring case: they become file names and macros)",
                X.source, X.line, kind, X.name, other.layers and "network" or "layer",
                other.name, other.source, other.line)
    end
    seen[key] = X
  end
  for _, L in ipairs(new) do claim("layer", L) end
  for _, N in ipairs(nets) do claim("network", N) end
  local index = {}
  for _, L in ipairs(new) do
    layers[#layers + 1] = L
    index[L] = #layers
    by_name[L.name:upper()] = L
  end
  for _, N in ipairs(nets) do
    N.index = {}
    for k, L in ipairs(N.layers) do N.index[k] = index[L] end
    networks[#networks + 1] = N
    by_name[N.name:upper()] = N
  end
  return #new
end

function api.count() return #layers end
function api.network_count() return #networks end

local function layer(i)
  local L = layers[i]
  if not L then error("no layer " .. tostring(i)) end
  return L
end

-- The resolved layer as a flat table of integers for the host's C struct.
function api.params(i)
  local L = layer(i)
  return {
    name = L.name, batch = L.batch, channels = L.channels, height = L.height,
    width = L.width, filters = L.filters, kernel_h = L.kernel_h,
    kernel_w = L.kernel_w, stride_h = L.stride_h, stride_w = L.stride_w,
    dilation_h = L.dilation_h, dilation_w = L.dilation_w,
    pad_top = L.pad_top, pad_bottom = L.pad_bottom, pad_left = L.pad_left,
    pad_right = L.pad_right, groups = L.groups, bias = L.bias,
    activation = L.activation, alpha = L.alpha or 0.0, layout = L.layout,
    out_h = L.out_h, out_w = L.out_w,
  }
end

local isa_cache = {}

-- A Lua module among the templates (so --templates can adapt it), run in
-- an environment of the pure standard functions plus extra.
local function load_template_module(relpath, extra)
  local text, chunkname = host.template_source(relpath)
  local env = { string = string, table = table, math = math, ipairs = ipairs,
                pairs = pairs, tostring = tostring, error = error, assert = assert,
                type = type }
  for k, v in pairs(extra or {}) do env[k] = v end
  local chunk, err = load(text, "@" .. chunkname, "t", env)
  if not chunk then util.fail("%s", err) end
  local ok, module = pcall(chunk)
  if not ok then util.fail("%s", tostring(module)) end
  return module
end

-- The isa module of a target (a template file, so --templates can adapt it).
local function load_isa(target)
  if not isa_cache[target] then
    isa_cache[target] = load_template_module("conv2d/" .. target .. "/isa.lua",
                                             { simd = load_template_module("conv2d/simd.lua") })
  end
  return isa_cache[target]
end

-- The modelled cycles per multiply-add of L's fastest kernel on isa.
local function best_cost(L, isa, budget)
  local _, cost = plan.choose_tile(L, isa)
  local F = plan_fv.plan(L, isa, budget)
  local Q = plan_plane.plan(L, isa, budget)
  return math.min(cost, F and F.cost or cost, Q and Q.cost or cost)
end

-- "native": of the targets this CPU runs, the one the cost model expects
-- to be fastest for this layer (a layer whose rows are shorter than a
-- 16-float vector may be faster with 8).
local function resolve_target(name, L, budget)
  if name ~= "native" then return name end
  local usable = {}
  if host.cpu_supports("avx512f") then usable[#usable + 1] = "avx512" end
  if host.cpu_supports("avx2") and host.cpu_supports("fma") then usable[#usable + 1] = "avx2" end
  if #usable == 0 then return "generic" end
  -- A target convgen tune measured for this layer wins over the model.
  for _, t in ipairs(usable) do
    if L.tuned and L.tuned[t] then return t end
  end
  local best, best_c
  for _, t in ipairs(usable) do
    local c = best_cost(L, load_isa(t), budget)
    if not best or c < best_c then best, best_c = t, c end
  end
  return best
end

-- opts: { target = , code_budget = } from the command line (may be nil).
local function options(L, opts)
  opts = opts or {}
  local target = opts.target or "generic"
  local known = false
  for _, t in ipairs(api.TARGETS) do if t == target then known = true end end
  if not known then
    util.fail("unknown target '%s' (available: %s)", target, table.concat(api.TARGETS, ", "))
  end
  if opts.code_budget and opts.code_budget > spec.MAX_CODE_BUDGET then
    util.fail("--code-budget %d is too large (at most %d lines)", opts.code_budget, spec.MAX_CODE_BUDGET)
  end
  local budget = L.code_budget or opts.code_budget or plan.DEFAULT_CODE_BUDGET
  target = resolve_target(target, L, budget)
  return { target = target, isa = load_isa(target), budget = budget }
end

-- L's activation: kind, alpha as an exact C literal, and apply(e), the C
-- expression applying it to the float expression e.
local function activation(L)
  local a = L.activation
  local alpha = L.alpha and util.f32(L.alpha)
  local function apply(e)
    if a == "none" then return e end
    if a == "relu" then return string.format("(%s > 0.0f ? %s : 0.0f)", e, e) end
    if a == "relu6" then
      return string.format("(%s > 0.0f ? (%s < 6.0f ? %s : 6.0f) : 0.0f)", e, e, e)
    end
    if a == "leaky_relu" then
      return string.format("(%s > 0.0f ? %s : %s * %s)", e, e, alpha, e)
    end
    if a == "sigmoid" then return string.format("1.0f / (1.0f + expf(-%s))", e) end
    if a == "tanh" then return string.format("tanhf(%s)", e) end
    error("activation " .. a)
  end
  return { kind = a, alpha = alpha, apply = apply }
end

local function render(relpath, vars)
  local text, chunkname = host.template_source(relpath)
  return template.render(chunkname, text, vars)
end

-- The packed floats of a baked layer, each spelled exactly: for the
-- filter-vectorized kernel (plan F) its layout (as packed_fv.c.in's
-- <name>_pack writes it), else the weights followed by the bias.
local function baked_values(L, F)
  local wb, bb = L.baked.weights, L.baked.bias
  local function w(i) return (string.unpack("<f", wb, 4 * i + 1)) end
  local function b(i) return bb and (string.unpack("<f", bb, 4 * i + 1)) or 0.0 end
  local out = {}
  if not F then
    for i = 0, #wb // 4 - 1 do out[#out + 1] = util.f32(w(i)) end
    for i = 0, (bb and #bb // 4 or 0) - 1 do out[#out + 1] = util.f32(b(i)) end
    return out
  end
  local V, K, nb, fpg, G = F.V, F.K, F.nb, F.fpg, F.G
  local KHKW, zero = L.kernel_h * L.kernel_w, util.f32(0.0)
  for g = 0, F.groups - 1 do
    for blk = 0, nb - 1 do
      for k = 0, K - 1 do
        -- tap k = (c, kh, kw) whatever the layout, read through its strides
        local c, t = k // KHKW, k % KHKW
        local at = c * G.WC + t // L.kernel_w * G.WH + t % L.kernel_w * G.WW
        for l = 0, V - 1 do
          local f = blk * V + l
          out[#out + 1] = f < fpg and util.f32(w((g * fpg + f) * G.WF + at)) or zero
        end
      end
    end
  end
  for g = 0, F.groups - 1 do
    for blk = 0, nb - 1 do
      for l = 0, V - 1 do
        local f = blk * V + l
        out[#out + 1] = f < fpg and util.f32(b(g * fpg + f)) or zero
      end
    end
  end
  assert(#out == F.packed, "baked_values: packed size")
  return out
end

local function banner(L, relpath)
  return string.format(
    "/* Auto-generated file. Do not edit!\n" ..
    " * Generated by convgen %s from %s (layer '%s', line %d).\n" ..
    " * Template: %s\n" ..
    " */", host.version, basename(L.source), L.name, L.line, relpath)
end

-- Generate layer i: returns the .c source, the .h source, the plans (the
-- tiled P, and for the packed entry the filter-vectorized F or the
-- whole-plane Q, or neither), the resolved options and the zero-skipping
-- stats. The plain entry runs the tiled kernel; the packed entry runs
-- whichever family the model (or the tuner) finds fastest.
local function generate(i, opts)
  local L = layer(i)
  host.set_context(string.format("%s:%d: layer '%s'", L.source, L.line, L.name))
  local o = options(L, opts)
  -- Choices: the spec's own fields, else the .tuned record for this
  -- target, else the cost model; a variant being tuned overrides all.
  -- A tile from a record or a variant carries its channel block (cb).
  local tile, packed_kernel, fv_tile = L.tile, L.packed_kernel, nil
  local rec = L.tuned and L.tuned[o.target]
  if rec then
    tile = tile or rec.tile
    if packed_kernel == "auto" then packed_kernel = rec.packed_kernel end
    fv_tile = rec.fv_tile
  end
  local v = opts and opts.variant and api.candidate(i, opts, opts.variant)
  if v then
    packed_kernel, tile, fv_tile = v.packed_kernel, v.tile or tile, v.fv_tile
  end
  local cb = L.channel_block or (tile and tile.cb)
  local fv_cb = L.channel_block or (fv_tile and fv_tile.cb)
  local P = plan.tiled(L, o.isa, o.budget, tile, cb)
  P.stores_info = plan.streaming(L, P, o.isa)
  local F, Q, why = nil, nil, nil
  if packed_kernel == "auto" or packed_kernel == "filter_vectors" then
    F, why = plan_fv.plan(L, o.isa, o.budget, fv_tile, fv_cb, L.row_group)
  end
  if packed_kernel == "filter_vectors" and not F then
    util.fail("%s:%d: layer '%s': field 'packed_kernel': no filter-vectorized kernel for target %s: %s",
              L.source, L.line, L.name, o.target, why)
  end
  -- (a baked layer's packed entry is its plain one: no planes)
  if (packed_kernel == "auto" and not L.baked) or packed_kernel == "planes" then
    Q, why = plan_plane.plan(L, o.isa, o.budget)
  end
  if packed_kernel == "planes" and not Q then
    util.fail("%s:%d: layer '%s': field 'packed_kernel': no whole-plane kernel for target %s: %s",
              L.source, L.line, L.name, o.target, why)
  end
  if packed_kernel == "auto" then
    local cost = plan.tile_cost(L, P.G, o.isa, P.tile.tf, P.tile.tr, P.tile.tv)
    if F and F.cost >= cost then F = nil end
    cost = F and F.cost or cost
    if Q and Q.cost >= cost then Q = nil end
    if Q then F = nil end
  end
  -- The plain entry reads the weights as they are, so it can run the
  -- whole-plane kernel as well as the tiled one. The spec's plain_kernel
  -- field forces one; else a record's plain_kernel says which ran faster
  -- (a tile or stores field in the spec overrides the record, as
  -- everywhere); else the plain entry runs the whole plane where the
  -- packed entry runs it too, or where the model costs it under
  -- PLAIN_PLANE_SHARE of the tiled kernel (it ranks the two closer than
  -- that unreliably), but not with the spec's tile field or stores =
  -- "streaming" (both about the tiled kernel), nor where the packed entry
  -- was set to (or tuned as) the tiled kernel.
  local plainQ = nil
  local plain_kernel, whose = nil, nil
  local tiled_fields = L.tile ~= nil or L.stores == "streaming"
  if L.plain_kernel ~= "auto" then
    plain_kernel = L.plain_kernel
    whose = string.format("%s:%d: layer '%s': field 'plain_kernel'", L.source, L.line, L.name)
  elseif not v and rec and rec.plain_kernel and not tiled_fields then
    plain_kernel = rec.plain_kernel
    whose = string.format("%s: tuned: layer '%s': plain_kernel", rec.where, L.name)
  end
  if plain_kernel == "planes" and L.stores == "streaming" then
    util.fail("%s:%d: layer '%s': field 'stores': \"streaming\" is for the tiled kernel, which plain_kernel = \"planes\" leaves out",
              L.source, L.line, L.name)
  end
  if plain_kernel == "planes" and not L.baked then
    local why_not
    plainQ = Q
    if not plainQ then plainQ, why_not = plan_plane.plan(L, o.isa, o.budget) end
    if not plainQ then
      util.fail("%s: \"planes\": no whole-plane kernel for target %s: %s", whose, o.target, why_not)
    end
  elseif not plain_kernel and not L.baked and not tiled_fields and packed_kernel ~= "tiled" then
    plainQ = Q
    if not plainQ then
      local q = plan_plane.plan(L, o.isa, o.budget)
      if q and q.cost < PLAIN_PLANE_SHARE * plan.tile_cost(L, P.G, o.isa, P.tile.tf, P.tile.tr, P.tile.tv) then
        plainQ = q
      end
    end
  end
  local sizes = shape.sizes(L)
  local act = activation(L)
  local kernel_path = "conv2d/tiled.c.in"
  -- (the whole-plane kernel takes its _pack and _run from packed_same)
  local packed_path = F and "conv2d/packed_fv.c.in" or Q and "conv2d/packed_plane.c.in, conv2d/packed_same.c.in"
                      or "conv2d/packed_same.c.in"
  local header_path = "conv2d/header.h.in"
  local isa_path = "conv2d/" .. o.target .. "/isa.lua"
  local stats = { skipped = 0, kept = 0 }
  local tiled_vars = {
    L = L, P = P, isa = o.isa, act = act, S = sizes, fn = L.name, stats = stats,
    nonzero = function(B, c, w) return plan.nonzero(L, B, c, w) end,
    banner = banner(L, kernel_path .. ", " .. packed_path .. ", " .. isa_path),
  }
  local c
  if L.baked then
    -- The plain entry runs the zero-skipping tiled kernel when it fits
    -- and some weight is zero, else whichever kernel <name>_run would.
    local NAME = L.name:upper()
    if P.blocks and packed_kernel ~= "filter_vectors" then F = nil end
    local baked_path = "conv2d/baked.c.in"
    if F then
      tiled_vars.banner = banner(L, packed_path .. ", " .. baked_path .. ", " .. isa_path)
      c = render("conv2d/head.c.in", tiled_vars)
        .. render(packed_path, { L = L, F = F, isa = o.isa, act = act, S = sizes, baked = true })
        .. render(baked_path, { L = L, NAME = NAME, values = baked_values(L, F),
                                call = L.name .. "_run(input, weights, output);" })
    else
      tiled_vars.fn = L.name .. "_tiled"
      tiled_vars.banner = banner(L, kernel_path .. ", " .. baked_path .. ", " .. isa_path)
      c = render(kernel_path, tiled_vars)
        .. render(baked_path, { L = L, NAME = NAME, values = baked_values(L, nil),
                                call = string.format("%s_tiled(input, weights, %s, output);", L.name,
                                                     L.bias and ("weights + " .. sizes.weights) or "NULL") })
    end
  elseif plainQ then
    -- (no tiled kernel: both entries run the whole plane, or the packed
    -- one the filter-vectorized kernel)
    local plane_path = "conv2d/packed_plane.c.in"
    tiled_vars.banner = banner(L, "conv2d/head.c.in, " .. plane_path .. ", "
                                  .. (F and packed_path or "conv2d/packed_same.c.in") .. ", " .. isa_path)
    c = render("conv2d/head.c.in", tiled_vars)
      .. render(plane_path, { L = L, Q = plainQ, isa = o.isa, act = act, plain = true, packed = Q ~= nil })
    if F then
      c = c .. render(packed_path, { L = L, F = F, isa = o.isa, act = act, S = sizes, baked = false })
    else
      c = c .. render("conv2d/packed_same.c.in", { L = L, S = sizes, run_fn = L.name .. "_plane" })
    end
  else
    c = render(kernel_path, tiled_vars)
    if Q then
      c = c .. render("conv2d/packed_plane.c.in", { L = L, Q = Q, isa = o.isa, act = act, plain = false, packed = true })
        .. render("conv2d/packed_same.c.in", { L = L, S = sizes, run_fn = L.name .. "_plane" })
    else
      c = c .. render(packed_path, { L = L, F = F, isa = o.isa, act = act, S = sizes, baked = false,
                                     run_fn = L.name })
    end
  end
  -- The entries running the tiled kernel, when it streams its stores.
  local streamers = {}
  if P.stream and not plainQ and not (L.baked and F) then streamers[#streamers + 1] = L.name end
  if P.stream and not L.baked and not F and not Q then streamers[#streamers + 1] = L.name .. "_run" end
  local h = render(header_path, {
    L = L, C = shape.counts(L), S = sizes, isa = o.isa,
    streamers = #streamers > 0 and table.concat(streamers, " and ") or false,
    packed_size = F and F.packed or sizes.packed,
    banner = banner(L, header_path),
    NAME = L.name:upper(), guard = "CONVGEN_" .. L.name:upper() .. "_H",
  })
  return c, h, P, o, F, stats, Q, plainQ
end

-- Layer i's sources and how to build them: c, h, target, tinycc, cflags.
-- The variants convgen tune times for layer i: their descriptions.
local candidate_cache = {}
function api.candidates(i, opts)
  local L = layer(i)
  if L.baked then
    util.fail("%s:%d: layer '%s': cannot tune a layer with baked weights (its kernel depends on them); tune the same spec without 'weights' and 'bias_values'",
              L.source, L.line, L.name)
  end
  local o = options(L, opts)
  local key = i .. "/" .. o.target
  candidate_cache[key] = candidate_cache[key] or tune.candidates(L, o.isa, 4, o.budget)
  local names = {}
  for k, v in ipairs(candidate_cache[key]) do names[k] = tune.describe(v) end
  return names
end

function api.candidate(i, opts, k)
  local key = i .. "/" .. options(layer(i), opts).target
  local v = candidate_cache[key] and candidate_cache[key][k]
  if not v then error("candidate " .. tostring(k) .. " of layer " .. i .. " was not listed") end
  return v
end

-- The .tuned line for layer i: variant best for the packed entry, and the
-- fastest variant plain (may be nil) of those the plain entry can run
-- (tiled, or the whole plane).
function api.tuned_record(i, opts, best, plain)
  local o = options(layer(i), opts)
  local v = api.candidate(i, opts, best)
  return tune.record(layer(i), o.target, v, plain and api.candidate(i, opts, plain))
end

function api.emit(i, opts)
  local c, h, _, o, F = generate(i, opts)
  local runs_here = true
  for _, f in ipairs(o.isa.cpu or {}) do runs_here = runs_here and host.cpu_supports(f) end
  return { c = c, h = h, target = o.target, tinycc = o.isa.tinycc, cflags = o.isa.cflags,
           runs_here = runs_here, cpu = table.concat(o.isa.cpu or {}, "+"),
           packed = F and F.packed or shape.sizes(layer(i)).packed,
           baked = layer(i).baked ~= nil }
end

-- A baked layer's weights and bias (nil without bias) as the .npy files
-- hold them: raw little-endian float32 bytes in the spec's layout.
function api.baked(i)
  local L = layer(i)
  if not L.baked then util.fail("%s:%d: layer '%s' has no baked weights", L.source, L.line, L.name) end
  return L.baked.weights, L.baked.bias
end

local function dims(...) return table.concat({ ... }, "x") end

-- Networks, numbered from 1 in load order.
local function net(k)
  local N = networks[k]
  if not N then error("no network " .. tostring(k)) end
  return N
end

-- Network k as the host needs it: name, the indices of its layers, sizes.
function api.network(k)
  local N = net(k)
  local P = network.plan(N.layers)
  return { name = N.name, layers = N.index, input = P.input, output = P.output,
           scratch = P.scratch }
end

-- Network k's .c and .h: the function running its layers through the
-- memory plan. Each layer's own files come from api.emit.
function api.network_emit(k)
  local N = net(k)
  host.set_context(string.format("%s:%d: network '%s'", N.source, N.line, N.name))
  for _, L in ipairs(N.layers) do
    if not L.baked then
      util.fail("%s:%d: network '%s': layer '%s' (%s:%d) has no field 'weights': a network's function takes no weights, so every layer bakes its own (weights = \"FILE.npy\")",
                N.source, N.line, N.name, L.name, L.source, L.line)
    end
  end
  local P = network.plan(N.layers)
  local vars = { N = N, P = P, NAME = N.name:upper(), S = shape,
                 guard = "CONVGEN_" .. N.name:upper() .. "_H" }
  local function banner(relpath)
    return string.format(
      "/* Auto-generated file. Do not edit!\n" ..
      " * Generated by convgen %s from %s (network '%s', line %d).\n" ..
      " * Template: %s\n" ..
      " */", host.version, basename(N.source), N.name, N.line, relpath)
  end
  vars.banner = banner("network/network.c.in")
  local c = render("network/network.c.in", vars)
  vars.banner = banner("network/network.h.in")
  local h = render("network/network.h.in", vars)
  return { c = c, h = h }
end

-- key: value lines describing network k.
function api.network_info(k)
  local N = net(k)
  local P = network.plan(N.layers)
  local names, params, macs = {}, 0, 0
  for i, L in ipairs(N.layers) do
    names[i] = L.name
    local n = shape.counts(L)
    params, macs = params + n.params, macs + n.macs
  end
  local first, last = N.layers[1], N.layers[#N.layers]
  local function bytes(floats) return string.format("%d bytes (%d floats)", 4 * floats, floats) end
  local rows = {
    { "network", N.name },
    { "spec", N.source .. ":" .. N.line },
    { "layers", string.format("%d: %s", #N.layers, table.concat(names, " -> ")) },
    { "input", dims(first.batch, first.channels, first.height, first.width) .. " (" .. first.layout:upper() .. ")" },
    { "output", dims(last.batch, last.filters, last.out_h, last.out_w) .. " (" .. last.layout:upper() .. ")" },
    { "parameters", tostring(params) },
    { "macs", tostring(macs) },
    { "scratch", bytes(P.scratch) .. (#N.layers > 2 and ", two buffers at its two ends" or "") },
    { "activation memory", bytes(P.peak) .. " with this plan (input + output + scratch)" },
    { "activation memory, naive", bytes(P.naive) .. " (every activation in a buffer of its own)" },
  }
  local out = {}
  for _, r in ipairs(rows) do out[#out + 1] = r[1] .. ": " .. r[2] end
  return table.concat(out, "\n") .. "\n"
end

-- key: value lines describing layer i.
function api.info(i, opts)
  local L = layer(i)
  local c, h, P, o, F, stats, Q, plainQ = generate(i, opts)
  local n = shape.counts(L)
  local function plane(R)
    return string.format("whole plane: %d filters x %d vectors of %d pixels (the %dx%d plane%s); %d lines of reduction code",
      R.tf, R.nv, R.V, L.out_h, L.out_w, #R.runs > 1 and (", in " .. #R.runs .. " runs") or "", R.lines)
  end
  local _, code_lines = c:gsub("\n", "")
  local nhwc = L.layout == "nhwc"   -- dimensions in the layout's order
  local rows = {
    { "layer", L.name },
    { "spec", L.source .. ":" .. L.line },
    { "input", nhwc and dims(L.batch, L.height, L.width, L.channels) .. " (NHWC)"
                    or dims(L.batch, L.channels, L.height, L.width) .. " (NCHW)" },
    { "weights", nhwc and dims(L.filters, L.kernel_h, L.kernel_w, L.channels // L.groups) .. " (FHWC)"
                      or dims(L.filters, L.channels // L.groups, L.kernel_h, L.kernel_w) .. " (FCHW)" },
    { "output", nhwc and dims(L.batch, L.out_h, L.out_w, L.filters) .. " (NHWC)"
                     or dims(L.batch, L.filters, L.out_h, L.out_w) .. " (NCHW)" },
    { "kernel", dims(L.kernel_h, L.kernel_w) },
    { "stride", dims(L.stride_h, L.stride_w) },
    { "dilation", dims(L.dilation_h, L.dilation_w) },
    { "padding", string.format("top %d, bottom %d, left %d, right %d (%s)",
        L.pad_top, L.pad_bottom, L.pad_left, L.pad_right, L.padding_mode) },
    { "groups", tostring(L.groups) },
    { "bias", tostring(L.bias) },
    { "activation", L.activation .. (L.alpha and string.format(" (alpha %.9g)", L.alpha) or "") },
    { "parameters", tostring(n.params) },
    { "macs", tostring(n.macs) },
    { "flops", tostring(n.flops) },
    { "target", o.target .. (o.isa.cflags ~= "" and (" (build with " .. o.isa.cflags .. ")") or "") },
    { "tile", string.format("%d filters x %d rows x %d vectors of %d%s", P.tile.tf, P.tile.tr,
        P.tile.tv, P.V, P.G.flat and " (1x1: the plane is one row)" or "") },
    { "regions", string.format("%d (%d lines of reduction code, budget %d; channel loop unrolled by %d)",
        #P.regions, P.lines, P.budget, P.cu) },
    { "stores", P.stores_info },
    { "code size", string.format("%d bytes, %d lines (.c) + %d bytes (.h)", #c, code_lines, #h) },
    { "packed kernel", F and string.format("filter-vectorized: %d vectors of %d filters x %d rows x %d pixels; %d lines of reduction code%s",
        F.tile.tv, F.V, F.tile.tr, F.tile.tp, F.lines,
        F.wmem > 0 and string.format("; %d weight vector%s read from memory by the multiply-adds", F.wmem, F.wmem > 1 and "s" or "") or "")
      or Q and (plainQ and "the plain entry's whole-plane kernel above" or plane(Q))
      or "the tiled kernel above" },
    { "packed weights", string.format("%d floats", F and F.packed or shape.sizes(L).packed) },
    { "workspace bytes", "0" },
  }
  if L.baked then
    local nw = #L.baked.weights // 4
    rows[#rows + 1] = { "baked weights", string.format("%s (%d floats)", L.baked.weights_file, nw) }
    if L.baked.bias then
      rows[#rows + 1] = { "baked bias", string.format("%s (%d floats)", L.baked.bias_file, #L.baked.bias // 4) }
    end
    rows[#rows + 1] = { "zero weights", string.format("%d of %d", L.baked.zeros, nw) }
    if P.blocks and not F then
      local all = stats.skipped + stats.kept
      rows[#rows + 1] = { "zero skipping", string.format(
        "%d multiply-adds removed of %d (%.1f%%) per call; %d remain",
        stats.skipped * L.batch, all * L.batch, all > 0 and 100 * stats.skipped / all or 0,
        stats.kept * L.batch) }
    else
      rows[#rows + 1] = { "zero skipping",
        L.baked.zeros == 0 and "off: no weight is zero"
        or P.blocks and "off: packed_kernel = \"filter_vectors\" forces the filter-vectorized kernel"
        or string.format("off: unrolled, the kernel needs more than its code budget of %d lines",
                         P.budget) }
    end
  end
  if plainQ then
    -- No tiled kernel was written: the plain entry's is the whole plane.
    for k = #rows, 1, -1 do
      if rows[k][1] == "tile" then
        rows[k] = { "plain kernel", plane(plainQ) }
      elseif rows[k][1] == "regions" then
        table.remove(rows, k)
      elseif rows[k][1] == "stores" then
        rows[k] = { "stores", "cached (the whole-plane kernel)" }
      end
    end
  end
  -- Channel blocks, where a kernel has them (after its tile line).
  local function add_blocks(after, name, Q)
    if not Q or Q.cb >= Q.cpg then return end
    for k, r in ipairs(rows) do
      if r[1] == after then
        table.insert(rows, k + 1, { name, string.format("%d of %d channels", Q.cb, Q.cpg) })
        return
      end
    end
  end
  if not plainQ then add_blocks("regions", "channel blocks", P) end
  add_blocks("packed kernel", "packed channel blocks", F)
  if F and F.row_groups then
    for k, r in ipairs(rows) do
      if r[1] == "packed kernel" then
        table.insert(rows, k + 1, { "packed row groups", string.format("%d over %d output rows",
                                                                         F.row_groups, F.G.OH) })
        break
      end
    end
  end
  if F and F.wprefetch then
    for k, r in ipairs(rows) do
      if r[1] == "packed weights" then
        local W = F.wprefetch
        table.insert(rows, k + 1, { "packed weight prefetch", string.format(
          "the next block's weights, %d of each filter vector's %d cache lines, %d per channel step",
          W.lines, W.block_lines, W.per_step) })
        break
      end
    end
  end
  local out = {}
  for _, r in ipairs(rows) do out[#out + 1] = r[1] .. ": " .. r[2] end
  return table.concat(out, "\n") .. "\n"
end

return api
