-- spec: evaluate a layer spec file as data and resolve it into layers.
--
-- A spec is Lua syntax run in an empty sandbox: it sees conv2d and a few
-- pure helpers (no io, os, require, load, dofile, debug, string.dump,
-- getmetatable, collectgarbage), under the host's instruction budget, time
-- limit and memory cap. The host checks its limits between Lua
-- instructions, so the sandbox leaves out the library functions whose one
-- call can run for unbounded time: pattern matching (string.find, match,
-- gmatch, gsub: backtracking is exponential), table.move (its range need
-- not exist) and string.rep of nothing (it loops n times).
-- conv2d { ... } records one layer; after the chunk has run, each layer is
-- checked field by field and resolved (defaults filled in, padding made
-- explicit, output size computed). Every error names the file, the line of
-- the conv2d call and the field.
--
-- network { name = "n", conv2d { ... }, conv2d { ... }, ... } chains the
-- layers written inside it: each one's input is the previous one's output,
-- so every layer but the first may leave its input out (if given, it must
-- match). The layers stay layers of their own as well.

local util = import "util"
local shape = import "shape"

local fail = util.fail
local M = {}

local MAX_ELEMENTS = 2147483647  -- element counts must fit a C int
M.MAX_LAYERS = 4096              -- layers in one run (all spec files)
M.MAX_CODE_BUDGET = 1 << 16      -- lines of reduction code one kernel may use

local C_KEYWORDS = {}
for w in ([[auto break case char const continue default do double else enum
  extern float for goto if inline int long register restrict return short
  signed sizeof static struct switch typedef union unsigned void volatile
  while _Alignas _Alignof _Atomic _Bool _Complex _Generic _Imaginary
  _Noreturn _Static_assert _Thread_local]]):gmatch("%S+") do
  C_KEYWORDS[w] = true
end

M.ACTIVATIONS = { "none", "relu", "relu6", "leaky_relu", "sigmoid", "tanh" }
M.LAYOUTS = { "nchw", "nhwc" }
M.PACKED_KERNELS = { "auto", "tiled", "filter_vectors", "planes" }
M.PLAIN_KERNELS = { "auto", "tiled", "planes" }
M.STORES = { "auto", "cached", "streaming" }

-- Field names accepted in conv2d { ... } and in its sub-tables.
local FIELDS = { "name", "input", "batch", "filters", "kernel", "stride",
  "padding", "dilation", "groups", "bias", "activation", "alpha", "layout",
  "code_budget", "tile", "packed_kernel", "plain_kernel", "stores", "channel_block", "row_group", "weights", "bias_values" }
local SUBFIELDS = {
  input = { "channels", "height", "width" },
  kernel = { "height", "width" },
  stride = { "height", "width" },
  dilation = { "height", "width" },
  padding = { "top", "bottom", "left", "right" },
  tile = { "filters", "rows", "vectors" },
}

-- The spec's whole world. Copies, so a spec cannot alter the generator's.
local function sandbox_env(declare, declare_network)
  local env = { conv2d = declare, network = declare_network }
  for _, k in ipairs({ "ipairs", "pairs", "next", "select", "tonumber",
                       "tostring", "type", "error", "assert", "rawequal",
                       "rawlen", "rawget" }) do
    env[k] = _G[k]
  end
  local function copy(lib, skip)
    local t = {}
    for k, v in pairs(lib) do if not skip[k] then t[k] = v end end
    return t
  end
  env.math = copy(math, { random = true, randomseed = true })
  env.string = copy(string, { dump = true, find = true, match = true, gmatch = true,
                              gsub = true })
  env.string.rep = host.spec_rep
  env.table = copy(table, { move = true })
  return env
end

-- Context for messages about one layer: "file:line: layer 'x': ".
local function where(raw)
  local name = rawget(raw.fields, "name")
  local label = type(name) == "string" and #name <= 64 and ("layer '" .. name .. "'")
                or ("layer #" .. raw.index)
  return raw.file .. ":" .. raw.line .. ": " .. label
end

-- A value as a message shows it; no table or function addresses, which
-- would differ from run to run.
local function describe(v)
  if type(v) == "string" and #v > 64 then return string.format("%q...", v:sub(1, 64)) end
  if type(v) == "string" then return string.format("%q", v) end
  if type(v) == "table" then return "{ ... }" end
  if type(v) == "function" then return "<function>" end
  return tostring(v)
end

-- Refuse the first key of t (in sorted order, so the message is the same
-- every run) that is not in allowed. Linear in the size of t: a spec may
-- hand over a table of a million keys.
local function check_known(ctx, t, allowed, prefix)
  local known = {}
  for _, a in ipairs(allowed) do known[a] = true end
  local first, first_s
  for k in pairs(t) do
    if not known[k] then
      local ks = tostring(k)
      if first == nil or ks < first_s then first, first_s = k, ks end
    end
  end
  local k = first
  if k == nil then return end
  if type(k) ~= "string" then
    fail("%s: unexpected positional value %s in %s; fields are written name = value",
         ctx, describe(t[k]), prefix == "" and "conv2d { }" or ("'" .. prefix:sub(1, -2) .. "'"))
  end
  local hint = util.closest(k, allowed)
  fail("%s: unknown field '%s%s'%s", ctx, prefix, #k <= 64 and k or (k:sub(1, 64) .. "..."),
       hint and (" (did you mean '" .. prefix .. hint .. "'?)") or "")
end

-- A whole number >= lo, or an error naming the field.
local function integer(ctx, field, v, lo)
  if type(v) ~= "number" then
    fail("%s: field '%s' must be an integer, got %s %s", ctx, field, type(v), describe(v))
  end
  local i = math.tointeger(v)
  if i == nil then
    fail("%s: field '%s' must be an integer, got %s", ctx, field, describe(v))
  end
  if i < lo then
    fail("%s: field '%s' must be %s, got %d", ctx, field,
         lo == 1 and "positive" or ("at least " .. lo), i)
  end
  if i > MAX_ELEMENTS then
    fail("%s: field '%s' is too large: %d (at most %d)", ctx, field, i, MAX_ELEMENTS)
  end
  return i
end

-- An integer, or a { height = , width = } table; returns height, width.
local function pair(ctx, field, v, default, lo)
  if v == nil then return default, default end
  if type(v) == "table" then
    check_known(ctx, v, SUBFIELDS[field], field .. ".")
    if v.height == nil or v.width == nil then
      fail("%s: field '%s' needs both height and width", ctx, field)
    end
    return integer(ctx, field .. ".height", v.height, lo),
           integer(ctx, field .. ".width", v.width, lo)
  end
  local i = integer(ctx, field, v, lo)
  return i, i
end

local function word(ctx, field, v, words, default)
  if v == nil then return default end
  if type(v) ~= "string" then
    fail("%s: field '%s' must be a string, got %s %s", ctx, field, type(v), describe(v))
  end
  for _, w in ipairs(words) do if w == v then return v end end
  local hint = util.closest(v, words)
  fail("%s: field '%s': unknown value %s (expected one of: %s)%s", ctx, field,
       describe(v), table.concat(words, ", "),
       hint and (" (did you mean '" .. hint .. "'?)") or "")
end

local function check_name(ctx, v)
  if v == nil then fail("%s: missing required field 'name'", ctx) end
  if type(v) ~= "string" then
    fail("%s: field 'name' must be a string, got %s %s", ctx, type(v), describe(v))
  end
  if not v:match("^[A-Za-z_][A-Za-z0-9_]*$") then
    fail("%s: field 'name': %s is not a C identifier", ctx, describe(v))
  end
  if C_KEYWORDS[v] then
    fail("%s: field 'name': '%s' is a C keyword", ctx, v)
  end
  if v:match("^_[_A-Z]") then
    fail("%s: field 'name': '%s' is reserved for the C implementation", ctx, v)
  end
  if #v > 63 then
    fail("%s: field 'name' is longer than 63 characters", ctx)
  end
  return v
end

local function padding(ctx, v, L)
  if v == nil or v == "valid" then return 0, 0, 0, 0 end
  if v == "same" then
    local t, b = shape.same_padding(L.height, L.kernel_h, L.stride_h, L.dilation_h)
    local l, r = shape.same_padding(L.width, L.kernel_w, L.stride_w, L.dilation_w)
    return t, b, l, r
  end
  if type(v) == "string" then
    fail("%s: field 'padding': unknown value %s (expected \"valid\", \"same\", an integer or { top, bottom, left, right })",
         ctx, describe(v))
  end
  if type(v) == "table" then
    check_known(ctx, v, SUBFIELDS.padding, "padding.")
    return integer(ctx, "padding.top", v.top or 0, 0),
           integer(ctx, "padding.bottom", v.bottom or 0, 0),
           integer(ctx, "padding.left", v.left or 0, 0),
           integer(ctx, "padding.right", v.right or 0, 0)
  end
  local p = integer(ctx, "padding", v, 0)
  return p, p, p, p
end

-- A path in the spec, relative to the spec file's directory (spec_path's).
local function relative_to(spec_path, p)
  if p:sub(1, 1) == "/" then return p end
  local dir = spec_path:match("^(.*)/[^/]*$")
  return dir and (dir .. "/" .. p) or p
end

-- A .npy file field: a non-empty string without NUL bytes, or nil.
local function file_field(ctx, field, v)
  if v == nil then return nil end
  if type(v) ~= "string" or v == "" or v:find("\0", 1, true) then
    fail("%s: field '%s' must be the path of a .npy file, got %s %s", ctx, field, type(v), describe(v))
  end
  return v
end

-- Trained weights named by the spec (weights = "w.npy", bias_values =
-- "b.npy"), read and checked by the host: L.baked = { weights = bytes,
-- bias = bytes or nil, weights_file = , bias_file = , zeros = } (raw little-endian
-- float32, in the spec's layout), or nil when the spec names none.
-- bias_values needs weights and bias = true; bias = true with weights
-- needs bias_values (a bias silently zero would be a wrong network).
local function baked(ctx, f, L)
  local wf = file_field(ctx, "weights", f.weights)
  local bf = file_field(ctx, "bias_values", f.bias_values)
  if not wf then
    if bf then fail("%s: field 'bias_values' needs field 'weights' (the trained weights as a .npy)", ctx) end
    return nil
  end
  if bf and not L.bias then
    fail("%s: field 'bias_values' is given but bias = false", ctx)
  end
  if L.bias and not bf then
    fail("%s: field 'weights' is given and bias = true, but field 'bias_values' is missing (name the bias .npy, or set bias = false)", ctx)
  end
  local B = { weights_file = relative_to(L.source, wf), bias_file = bf and relative_to(L.source, bf) }
  local function read(field, path, dims, what)
    local bytes, err = host.read_npy(path, dims, what)
    if not bytes then fail("%s: field '%s': %s", ctx, field, err) end
    return bytes
  end
  B.weights = read("weights", B.weights_file, shape.weight_dims(L), "weights")
  B.bias = bf and read("bias_values", B.bias_file, { L.filters }, "bias") or nil
  B.zeros = 0   -- weights that are +0.0 or -0.0
  for i = 1, #B.weights, 4 do
    if string.unpack("<f", B.weights, i) == 0 then B.zeros = B.zeros + 1 end
  end
  return B
end

-- A network layer's input must be what the layer before it produces.
local function check_feed(ctx, L, feed)
  local from = string.format("layer '%s' (%s:%d)", feed.name, feed.source, feed.line)
  local function dims(c, h, w) return string.format("%d x %d x %d", c, h, w) end
  if L.channels ~= feed.filters or L.height ~= feed.out_h or L.width ~= feed.out_w then
    fail("%s: field 'input': %s (channels x height x width) does not match the output %s of %s, which feeds it in network '%s'",
         ctx, dims(L.channels, L.height, L.width), dims(feed.filters, feed.out_h, feed.out_w),
         from, feed.network)
  end
  if L.batch ~= feed.batch then
    fail("%s: field 'batch': %d does not match batch %d of %s, which feeds it in network '%s'",
         ctx, L.batch, feed.batch, from, feed.network)
  end
  if L.layout ~= feed.layout then
    fail("%s: field 'layout': \"%s\" does not match layout \"%s\" of %s, which feeds it in network '%s'",
         ctx, L.layout, feed.layout, from, feed.network)
  end
end

-- Check one recorded conv2d call and resolve it into a layer table.
-- feed: the layer before this one in its network (nil if none).
local function resolve(raw, feed)
  local f = raw.fields
  local ctx = where(raw)
  check_known(ctx, f, FIELDS, "")
  local L = { source = raw.file, line = raw.line }
  L.name = check_name(ctx, f.name)
  ctx = raw.file .. ":" .. raw.line .. ": layer '" .. L.name .. "'"

  if f.input == nil and feed then
    f.input = { channels = feed.filters, height = feed.out_h, width = feed.out_w }
    if f.batch == nil then f.batch = feed.batch end
  end
  if f.input == nil then fail("%s: missing required field 'input'", ctx) end
  if type(f.input) ~= "table" then
    fail("%s: field 'input' must be a table { channels = , height = , width = }, got %s",
         ctx, describe(f.input))
  end
  check_known(ctx, f.input, SUBFIELDS.input, "input.")
  for _, k in ipairs(SUBFIELDS.input) do
    if f.input[k] == nil then fail("%s: missing required field 'input.%s'", ctx, k) end
  end
  L.channels = integer(ctx, "input.channels", f.input.channels, 1)
  L.height = integer(ctx, "input.height", f.input.height, 1)
  L.width = integer(ctx, "input.width", f.input.width, 1)
  L.batch = f.batch == nil and 1 or integer(ctx, "batch", f.batch, 1)
  if f.filters == nil then fail("%s: missing required field 'filters'", ctx) end
  L.filters = integer(ctx, "filters", f.filters, 1)
  if f.kernel == nil then fail("%s: missing required field 'kernel'", ctx) end
  L.kernel_h, L.kernel_w = pair(ctx, "kernel", f.kernel, nil, 1)
  L.stride_h, L.stride_w = pair(ctx, "stride", f.stride, 1, 1)
  L.dilation_h, L.dilation_w = pair(ctx, "dilation", f.dilation, 1, 1)
  L.pad_top, L.pad_bottom, L.pad_left, L.pad_right = padding(ctx, f.padding, L)
  L.padding_mode = type(f.padding) == "string" and f.padding
                   or (f.padding == nil and "valid" or "explicit")

  L.groups = f.groups == nil and 1 or integer(ctx, "groups", f.groups, 1)
  if L.channels % L.groups ~= 0 then
    fail("%s: field 'groups': %d does not divide input.channels = %d", ctx, L.groups, L.channels)
  end
  if L.filters % L.groups ~= 0 then
    fail("%s: field 'groups': %d does not divide filters = %d", ctx, L.groups, L.filters)
  end

  if f.bias ~= nil and type(f.bias) ~= "boolean" then
    fail("%s: field 'bias' must be true or false, got %s", ctx, describe(f.bias))
  end
  L.bias = f.bias ~= false
  L.activation = word(ctx, "activation", f.activation, M.ACTIVATIONS, "none")
  if f.alpha ~= nil then
    if L.activation ~= "leaky_relu" then
      fail("%s: field 'alpha' only applies to activation = \"leaky_relu\"", ctx)
    end
    if type(f.alpha) ~= "number" or f.alpha ~= f.alpha or math.abs(f.alpha) == math.huge then
      fail("%s: field 'alpha' must be a finite number, got %s", ctx, describe(f.alpha))
    end
  end
  L.alpha = L.activation == "leaky_relu" and (f.alpha or 0.01) or nil
  L.layout = word(ctx, "layout", f.layout, M.LAYOUTS, "nchw")
  L.code_budget = f.code_budget ~= nil and integer(ctx, "code_budget", f.code_budget, 1) or nil
  if L.code_budget and L.code_budget > M.MAX_CODE_BUDGET then
    fail("%s: field 'code_budget' is too large: %d lines (at most %d)", ctx, L.code_budget,
         M.MAX_CODE_BUDGET)
  end
  -- Which kernel <name>_run uses: chosen by the cost model, or forced.
  L.packed_kernel = word(ctx, "packed_kernel", f.packed_kernel, M.PACKED_KERNELS, "auto")
  -- (an NHWC depthwise layer with one filter per channel vectorizes its
  -- channels instead: plan_fv.channel_form)
  local channel_form = L.layout == "nhwc" and L.groups > 1 and L.groups == L.channels
                       and L.filters == L.groups
  if L.packed_kernel == "filter_vectors" and L.filters // L.groups == 1 and not channel_form then
    fail("%s: field 'packed_kernel': \"filter_vectors\" needs more than one filter per group (or an NHWC depthwise layer with one filter per channel)", ctx)
  end
  if L.packed_kernel == "planes" and f.weights ~= nil then
    fail("%s: field 'packed_kernel': \"planes\" is not for layers with baked weights (their kernel is the tiled one, which leaves out zero weights)", ctx)
  end
  -- Which kernel the plain entry uses: chosen by the model, or forced.
  L.plain_kernel = word(ctx, "plain_kernel", f.plain_kernel, M.PLAIN_KERNELS, "auto")
  if L.plain_kernel == "planes" and f.weights ~= nil then
    fail("%s: field 'plain_kernel': \"planes\" is not for layers with baked weights (their kernel is the tiled one, which leaves out zero weights)", ctx)
  end
  -- How the tiled kernel stores its outputs: as the model decides, through
  -- the caches, or streaming (non-temporal) stores (plan.streaming).
  L.stores = word(ctx, "stores", f.stores, M.STORES, "auto")
  if f.tile ~= nil then
    -- The register tile, as convgen tune records it: filters x output rows
    -- x vectors of output columns (clamped to the layer's extent).
    if type(f.tile) ~= "table" then
      fail("%s: field 'tile' must be a table { filters = , rows = , vectors = }, got %s", ctx, describe(f.tile))
    end
    -- unroll, optional: channels a pass of the channel loop (plan.tiled).
    check_known(ctx, f.tile, { "unroll", table.unpack(SUBFIELDS.tile) }, "tile.")
    for _, k in ipairs(SUBFIELDS.tile) do
      if f.tile[k] == nil then fail("%s: missing required field 'tile.%s'", ctx, k) end
    end
    L.tile = { tf = integer(ctx, "tile.filters", f.tile.filters, 1),
               tr = integer(ctx, "tile.rows", f.tile.rows, 1),
               tv = integer(ctx, "tile.vectors", f.tile.vectors, 1),
               unroll = f.tile.unroll ~= nil and integer(ctx, "tile.unroll", f.tile.unroll, 1) or nil,
               where = ctx }
    if L.tile.tf * L.tile.tr * L.tile.tv > 64 then
      fail("%s: field 'tile': %d x %d x %d accumulators are more than 64", ctx, L.tile.tf, L.tile.tr, L.tile.tv)
    end
  end

  if f.channel_block ~= nil then
    -- Channels per reduction block (both kernels; see generator/lua/plan.lua),
    -- as convgen tune records it; lowered to a divisor of channels/groups.
    L.channel_block = integer(ctx, "channel_block", f.channel_block, 1)
  end

  if f.row_group ~= nil then
    -- Output rows per row group of the filter-vectorized kernel (see
    -- generator/lua/plan_fv.lua); the tiled kernel has no row groups.
    L.row_group = integer(ctx, "row_group", f.row_group, 1)
  end

  -- Index arithmetic in the kernels and the reference is done in C int.
  for _, a in ipairs({ { "height", L.height, L.pad_top, L.pad_bottom },
                       { "width", L.width, L.pad_left, L.pad_right } }) do
    local axis, n, pb, pe = table.unpack(a)
    if n + pb + pe > MAX_ELEMENTS then
      fail("%s: field 'padding': the padded input %s %d + %d + %d = %d is more than %d",
           ctx, axis, pb, n, pe, pb + n + pe, MAX_ELEMENTS)
    end
  end

  L.out_h = shape.out_size(L.height, L.kernel_h, L.stride_h, L.dilation_h, L.pad_top, L.pad_bottom)
  L.out_w = shape.out_size(L.width, L.kernel_w, L.stride_w, L.dilation_w, L.pad_left, L.pad_right)
  local axes = {
    { "height", L.out_h, L.kernel_h, L.dilation_h, L.height + L.pad_top + L.pad_bottom },
    { "width", L.out_w, L.kernel_w, L.dilation_w, L.width + L.pad_left + L.pad_right },
  }
  for _, a in ipairs(axes) do
    local axis, out, k, d, padded = table.unpack(a)
    if out < 1 then
      fail("%s: field 'kernel': the kernel %s (%d taps spanning %d pixels) exceeds the padded input %s %d; the output would be empty",
           ctx, axis, k, (k - 1) * d + 1, axis, padded)
    end
  end

  if feed then check_feed(ctx, L, feed) end

  -- Element counts must fit a C int (products in floats: no overflow).
  local counts = {
    { "input", 1.0 * L.batch * L.channels * L.height * L.width },
    { "weights", 1.0 * L.filters * (L.channels // L.groups) * L.kernel_h * L.kernel_w },
    { "output", 1.0 * L.batch * L.filters * L.out_h * L.out_w },
  }
  for _, c in ipairs(counts) do
    if c[2] > MAX_ELEMENTS then
      fail("%s: the %s tensor would have %.0f elements, more than %d", ctx, c[1], c[2], MAX_ELEMENTS)
    end
  end
  L.baked = baked(ctx, f, L)
  return L
end

-- Check one recorded network { } call: its name, and that its entries are
-- layers written with conv2d, none already in a network. Links each
-- layer to the one feeding it; returns { name, source, line, raws, layers }.
local function members(net, handles)
  local f = net.fields
  local ctx = net.file .. ":" .. net.line .. ": network"
  local label = type(f.name) == "string" and #f.name <= 64 and (ctx .. " '" .. f.name .. "'")
                or (ctx .. " #" .. net.index)
  local n, first_bad = 0, nil
  for k in pairs(f) do
    if math.type(k) == "integer" and k >= 1 then
      n = math.max(n, k)
    elseif k ~= "name" and (first_bad == nil or tostring(k) < tostring(first_bad)) then
      first_bad = k
    end
  end
  if first_bad ~= nil then
    local ks = tostring(first_bad)
    fail("%s: unknown field '%s' (a network has a name and its layers: network { name = ..., conv2d { ... }, ... })",
         label, #ks <= 64 and ks or (ks:sub(1, 64) .. "..."))
  end
  local N = { name = nil, source = net.file, line = net.line, raws = {}, layers = {} }
  N.name = check_name(label, f.name)
  ctx = ctx .. " '" .. N.name .. "'"
  if n == 0 then fail("%s: no layers (write them inside it: network { name = ..., conv2d { ... } })", ctx) end
  -- Stops at the first hole, however large the last index.
  for k = 1, n do
    local raw = f[k] ~= nil and handles[f[k]]
    if f[k] == nil then
      fail("%s: entry %d of %d is missing (nil)", ctx, k, n)
    elseif not raw then
      fail("%s: entry %d is %s, not a layer (write conv2d { ... } inside network { })",
           ctx, k, describe(f[k]))
    end
    if raw.net then
      local label = type(raw.fields.name) == "string" and #raw.fields.name <= 64
                    and ("'" .. raw.fields.name .. "'") or ("#" .. raw.index)
      fail("%s: layer %s (%s:%d) is already in network '%s' (%s:%d)", ctx, label, raw.file,
           raw.line, raw.net.name, raw.net.source, raw.net.line)
    end
    raw.net = N
    raw.feed = N.raws[k - 1]
    N.raws[k] = raw
  end
  return N
end

-- Run the spec text (chunk named after path) and return its layers and
-- its networks.
-- sandbox_call runs a function under the host's limits (host.sandbox_call).
function M.load(path, text, sandbox_call)
  local raws, nets, handles = {}, {}, {}
  local function declare(fields)
    local info = debug.getinfo(2, "Sl")
    local line = info and info.currentline or 0
    if type(fields) ~= "table" then
      fail("%s:%d: conv2d expects a table: conv2d { name = ..., ... }, got %s",
           path, line, describe(fields))
    end
    if #raws == M.MAX_LAYERS then
      fail("%s:%d: more than %d layers (convgen's limit for one run)", path, line, M.MAX_LAYERS)
    end
    local raw = { fields = fields, file = path, line = line, index = #raws + 1 }
    raws[#raws + 1] = raw
    -- The value of conv2d { ... }: a handle network { } recognizes.
    local handle = {}
    handles[handle] = raw
    return handle
  end
  local function declare_network(fields)
    local info = debug.getinfo(2, "Sl")
    local line = info and info.currentline or 0
    if type(fields) ~= "table" then
      fail("%s:%d: network expects a table: network { name = ..., conv2d { ... }, ... }, got %s",
           path, line, describe(fields))
    end
    if #nets == M.MAX_LAYERS then
      fail("%s:%d: more than %d networks (convgen's limit for one run)", path, line, M.MAX_LAYERS)
    end
    nets[#nets + 1] = { fields = fields, file = path, line = line, index = #nets + 1 }
  end
  -- Lua shortens a long chunk name to "...<tail>"; put the whole path back.
  local function with_path(msg)
    local tail, rest = msg:match("^%.%.%.(.-)(:%d+:.*)$")
    if tail and path:sub(-#tail) == tail then return path .. rest end
    return msg
  end
  local env = sandbox_env(declare, declare_network)
  -- Nested about 200 deep, Lua 5.4's parser fails with a bare "C stack
  -- overflow", returned or (at some depths of the C stack) raised.
  local parsed, chunk, err = pcall(load, text, "@" .. path, "t", env)
  if not parsed then chunk, err = nil, tostring(chunk) end
  if not chunk then
    local msg = with_path(err)
    if msg:sub(1, #path + 1) ~= path .. ":" then msg = path .. ": " .. msg end
    fail("%s", msg)
  end
  -- The spec's string library is also its strings' methods: ("").find is nil.
  local ok, e, kind = sandbox_call(chunk, env.string)
  if not ok then
    if util.is_user_error(e) then error(e, 0) end
    if kind == "memory" then
      fail("%s: the spec needs more than %d MiB of memory", path, host.spec_memory_mib)
    end
    local msg = (type(e) == "string" or type(e) == "number") and with_path(tostring(e))
    -- error("x", 0), error({}) and error() carry no position: add the file.
    if not msg then
      fail("%s: the spec raised an error with a %s value", path, type(e))
    end
    if not msg:match("^.-:%d+: ") then msg = path .. ": " .. msg end
    fail("%s", msg)
  end
  local networks = {}
  for i, net in ipairs(nets) do networks[i] = members(net, handles) end
  if #raws == 0 then
    fail("%s: no layer declared (expected at least one conv2d { ... })", path)
  end
  -- A network layer is resolved after the layer that feeds it.
  local function get(raw)
    if not raw.L then
      local feed = raw.feed and get(raw.feed)
      raw.L = resolve(raw, feed)
      raw.L.network = raw.net and raw.net.name
    end
    return raw.L
  end
  local layers = {}
  for i, raw in ipairs(raws) do layers[i] = get(raw) end
  for _, N in ipairs(networks) do
    for k, raw in ipairs(N.raws) do N.layers[k] = raw.L end
    N.raws = nil
  end
  return layers, networks
end

return M
