-- Runs one Kong pre-function chunk the way Kong does, in the real Lua 5.1 interpreter:
-- compiled in a sandbox with Kong's base environment (kong/tools/kong-lua-sandbox.lua),
-- `kong` and `ngx` added and `require` limited to the allowed modules; the chunk runs
-- once and the function it returns then runs per request. Thin shims stand in for
-- what only nginx has (kong.request, kong.response, kong.log, ngx.now, ngx.shared,
-- ngx.base64); HMAC is OpenSSL's (lua-luaossl) and JSON is lua-cjson, as in Kong.
--
-- stdin: { chunk, requires: [module], dicts: [name], requests: [{ method, headers, now }] }
-- stdout: [{ status, headers, body, log }], status 0 when the request passed through.
local cjson = require "cjson"

local input = cjson.decode(io.read("*a"))

-- ngx.base64 (lua-resty-core): decode_base64url takes no padding and refuses other characters.
local ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
local VALUE = {}
for i = 1, #ALPHABET do VALUE[ALPHABET:sub(i, i)] = i - 1 end
local function decode_base64url(s)
  if type(s) ~= "string" then error("string argument only", 2) end
  if #s % 4 == 1 then return nil, "invalid input" end
  local out, bits, nbits = {}, 0, 0
  for i = 1, #s do
    local v = VALUE[s:sub(i, i)]
    if v == nil then return nil, "invalid input" end
    bits, nbits = bits * 64 + v, nbits + 6
    if nbits >= 8 then
      nbits = nbits - 8
      local byte = math.floor(bits / 2 ^ nbits)
      out[#out + 1] = string.char(byte)
      bits = bits - byte * 2 ^ nbits
    end
  end
  return table.concat(out)
end

-- resty.openssl.hmac and luaossl's openssl.hmac share new(key, digest) and :final(data).
local luaossl_hmac = require "openssl.hmac"
local MODULES = {
  ["cjson.safe"] = require "cjson.safe",
  ["resty.openssl.hmac"] = { new = function(key, digest) return luaossl_hmac.new(key, digest) end },
  ["ngx.base64"] = { decode_base64url = decode_base64url },
}
local allowed = {}
for _, m in ipairs(input.requires) do allowed[m] = true end
local function sandboxed_require(m)
  if not allowed[m] then error("require '" .. m .. "' not allowed within sandbox", 2) end
  local mod = MODULES[m]
  if mod == nil then error("the harness has no stand-in for " .. m, 2) end
  return mod
end

-- The request being served, and what the chunk did to it.
local request, result

-- ngx.shared.DICT: incr(key, value, init, init_ttl) as lua-nginx-module has it, on the harness's clock.
local function new_dict()
  local values, expires = {}, {}
  local dict = {}
  function dict:incr(key, value, init, init_ttl)
    local now = request.now
    if expires[key] ~= nil and expires[key] <= now then values[key], expires[key] = nil, nil end
    if values[key] == nil then
      if init == nil then return nil, "not found" end
      values[key] = init
      if init_ttl ~= nil and init_ttl > 0 then expires[key] = now + init_ttl end
    end
    values[key] = values[key] + value
    return values[key], nil
  end
  return dict
end
local shared = {}
for _, name in ipairs(input.dicts) do shared[name] = new_dict() end

local EXIT = {}
local kong = {
  request = {
    get_header = function(name)
      local v = request.headers[string.lower(name)]
      return v
    end,
    get_method = function() return request.method end,
  },
  response = {
    exit = function(status, body, headers)
      -- Kong's checks (kong.pdk.private.checks): a header value is a string, a number or a boolean.
      for name, value in pairs(headers or {}) do
        local t = type(value)
        if type(name) ~= "string" or (t ~= "string" and t ~= "number" and t ~= "boolean") then
          error("invalid header " .. tostring(name) .. ": " .. t, 2)
        end
      end
      result.status, result.body, result.headers = status, body, headers or {}
      error(EXIT, 0)
    end,
  },
  log = {
    err = function(...)
      result.log = table.concat({ ... })
    end,
  },
}
local ngx = {
  now = function() return request.now end,
  shared = shared,
}

-- Kong's sandbox base environment: the safe globals, nothing else.
local BASE = [[
_VERSION assert error ipairs next pairs pcall select tonumber tostring type unpack xpcall
coroutine.create coroutine.resume coroutine.running coroutine.status coroutine.wrap coroutine.yield
math.abs math.acos math.asin math.atan math.atan2 math.ceil math.cos math.cosh math.deg math.exp math.fmod
math.floor math.frexp math.huge math.ldexp math.log math.log10 math.max math.min math.modf math.pi math.pow
math.rad math.random math.sin math.sinh math.sqrt math.tan math.tanh
os.clock os.date os.difftime os.time
string.byte string.char string.find string.format string.gmatch string.gsub string.len string.lower
string.match string.rep string.reverse string.sub string.upper
table.concat table.insert table.maxn table.remove table.sort
]]
local env = {}
for id in BASE:gmatch("%S+") do
  local module, method = id:match("([^%.]+)%.([^%.]+)")
  if module then
    env[module] = env[module] or {}
    env[module][method] = _G[module][method]
  else
    env[id] = _G[id]
  end
end
env.kong, env.ngx, env.require = kong, ngx, sandboxed_require
env._G = env

local chunk = assert(loadstring(input.chunk, "=pre-function"))
setfenv(chunk, env)

local handler
local out = {}
for i, r in ipairs(input.requests) do
  request = { method = r.method or "GET", headers = {}, now = r.now }
  for k, v in pairs(r.headers or {}) do request.headers[string.lower(k)] = v end
  result = { status = 0 }
  local ok, err = pcall(function()
    -- Kong runs the chunk on the first request; the function it returns serves every request after.
    if handler == nil then
      handler = chunk()
      assert(type(handler) == "function", "the chunk must return a function")
    end
    handler()
  end)
  if not ok and err ~= EXIT then
    io.stderr:write("request ", i, ": ", tostring(err), "\n")
    os.exit(1)
  end
  out[i] = result
end
io.write(cjson.encode(out))
