-- template: the C-with-Lua-lines template engine.
--
--   $for i = 0, N - 1 do        a line whose first non-blank character is $
--   acc += w[${i}] * x[${i}];   is Lua; any other line is C text in which
--   $end                        ${expr} substitutes the value of expr.
--
-- Each template line becomes exactly one line of Lua, so a Lua error in a
-- template names the template's own file and line. ${expr} takes strings
-- and integers only: a float (8/2 is 4.0 in Lua 5.4) is an error, so that no
-- "4.0" ends up where C wants an integer; spell floats with f32().

local util = import "util"

local M = {}

-- Translate template text into Lua source, line for line.
local function translate(text)
  local out = {}
  for line in (text .. (text:sub(-1) == "\n" and "" or "\n")):gmatch("(.-)\r?\n") do
    local code = line:match("^%s*%$(.*)$")
    if code and not line:match("^%s*%${") then
      out[#out + 1] = code
    else
      local parts, pos = {}, 1
      while true do
        local s, e = line:find("${", pos, true)
        if not s then break end
        local depth, j = 1, e + 1
        while j <= #line and depth > 0 do
          local c = line:sub(j, j)
          if c == "{" then depth = depth + 1 elseif c == "}" then depth = depth - 1 end
          j = j + 1
        end
        if depth > 0 then
          -- Unbalanced: leave it to Lua to report on this line.
          parts[#parts + 1] = "_v(" .. line:sub(e + 1) .. ")"
          pos = #line + 1
          break
        end
        if s > pos then parts[#parts + 1] = string.format("%q", line:sub(pos, s - 1)) end
        parts[#parts + 1] = "_v(" .. line:sub(e + 1, j - 2) .. ")"
        pos = j
      end
      if pos <= #line then parts[#parts + 1] = string.format("%q", line:sub(pos)) end
      parts[#parts + 1] = '"\\n"'
      out[#out + 1] = "_o(" .. table.concat(parts, ", ") .. ")"
    end
  end
  return table.concat(out, "\n")
end
M.translate = translate

-- Render template text named chunkname with the variables in vars.
-- Returns the rendered string. Any error in the template, syntax or run
-- time, is raised as a user error naming chunkname:line: a template may be
-- the user's own (--templates).
function M.render(chunkname, text, vars)
  local buf = {}
  local env = setmetatable({}, { __index = function(_, k)
    local v = vars[k]
    if v == nil then v = _G[k] end
    if v == nil then error("undefined template variable '" .. tostring(k) .. "'", 2) end
    return v
  end })
  env._o = function(...)
    local n = select("#", ...)
    for i = 1, n do buf[#buf + 1] = select(i, ...) end
  end
  env._v = function(v)
    if math.type(v) == "integer" or type(v) == "string" then return tostring(v) end
    error("${} needs a string or an integer, got " .. type(v) .. " " .. tostring(v), 2)
  end
  local chunk, err = load(translate(text), "@" .. chunkname, "t", env)
  if not chunk then util.fail("%s", err) end
  local ok, e = pcall(chunk)
  if not ok then
    if util.is_user_error(e) then error(e, 0) end
    util.fail("%s", tostring(e))
  end
  return table.concat(buf)
end

return M
