-- util: small helpers shared by the generator's Lua modules.
--
-- User errors (a bad spec, a bad option) are raised as tables of class
-- UserError so that the C host can tell them from internal faults: the
-- former print as they are and exit 2, the latter print a traceback.

local M = {}

local UserError = {}
UserError.__index = UserError
UserError.__tostring = function(e) return e.msg end
M.UserError = UserError

-- Raise a user error; the message is formatted like string.format.
function M.fail(fmt, ...)
  error(setmetatable({ msg = string.format(fmt, ...) }, UserError), 0)
end

function M.is_user_error(e)
  return getmetatable(e) == UserError
end

-- The exact C spelling of x rounded to float: a hex float with an f suffix.
-- Every C99 compiler reads it back to the same bits.
function M.f32(x)
  local r = string.unpack("<f", string.pack("<f", x))
  if r ~= r or r == math.huge or r == -math.huge then
    error("f32: not a finite float: " .. tostring(x))
  end
  if r == 0 then
    return (1 / r < 0) and "-0.0f" or "0.0f"
  end
  return string.format("%af", r)
end

-- Integer to C source; refuses floats (Lua 5.4: 8/2 is 4.0).
function M.int(x)
  local i = math.tointeger(x)
  if i == nil or math.type(x) ~= "integer" then
    error("int: not an integer: " .. tostring(x))
  end
  return string.format("%d", i)
end

-- Sorted keys of a table, for deterministic iteration.
function M.sorted_keys(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
  return keys
end

-- Levenshtein distance, for "did you mean" hints.
function M.edit_distance(a, b)
  local prev = {}
  for j = 0, #b do prev[j] = j end
  for i = 1, #a do
    local cur = { [0] = i }
    for j = 1, #b do
      local cost = (a:sub(i, i) == b:sub(j, j)) and 0 or 1
      cur[j] = math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
    end
    prev = cur
  end
  return prev[#b]
end

-- The closest of the candidate words to word, or nil if none is close (or
-- word is too long to be a misspelling: the distance is quadratic).
function M.closest(word, candidates)
  if #word > 64 then return nil end
  local best, best_d = nil, math.huge
  for _, c in ipairs(candidates) do
    local d = M.edit_distance(word, c)
    if d < best_d then best, best_d = c, d end
  end
  if best and best_d <= math.max(1, #word // 3) then return best end
  return nil
end

return M
