-- supafleet: each tenant's requests per minute, counted at the project's gateway.
-- Kong's pre-function plugin runs this chunk once and then the function it returns on
-- every request, in the access phase, before key-auth. Kong sandboxes it: only the
-- requires listed in KONG_UNTRUSTED_LUA_SANDBOX_REQUIRES (src/supabase/compose.ts).
-- src/supabase/rateLimit.ts fills in the settings below: the project's JWT secret, its
-- owner, the limit of each plan its tenants are on, the owner's plan's limit for
-- everything else, and the shared dict that holds the counts.
local cjson = require "cjson.safe"
local hmac = require "resty.openssl.hmac"
local base64 = require "ngx.base64"

local settings = assert(cjson.decode({{settings}}), "rate limit settings are not JSON")
local WINDOW = settings.window_seconds
local UUID = "^%x%x%x%x%x%x%x%x%-%x%x%x%x%-%x%x%x%x%-%x%x%x%x%-%x%x%x%x%x%x%x%x%x%x%x%x$"

local function json_part(part)
  local text = base64.decode_base64url(part)
  if text == nil then return nil end
  local value = cjson.decode(text)
  if type(value) ~= "table" then return nil end
  return value
end

-- The tenant and plan claims of a bearer token GoTrue signed (HS256, the project's secret)
-- that has not expired; nil for anything else, so a forged claim never spends another
-- tenant's count nor raises its own limit.
local function verified_tenant(authorization, now)
  if type(authorization) ~= "string" then return nil end
  local token = authorization:match("^[Bb]earer%s+(%S+)$")
  if token == nil then return nil end
  local head, body, signature = token:match("^([%w_-]+)%.([%w_-]+)%.([%w_-]+)$")
  if head == nil then return nil end
  local header = json_part(head)
  if header == nil or header.alg ~= "HS256" then return nil end
  local mac = hmac.new(settings.jwt_secret, "sha256")
  if mac == nil or base64.decode_base64url(signature) ~= mac:final(head .. "." .. body) then return nil end
  local claims = json_part(body)
  if claims == nil or type(claims.exp) ~= "number" or claims.exp <= now then return nil end
  local tenant = claims.tenant_id
  if type(tenant) ~= "string" or not tenant:match(UUID) then return nil end
  return tenant:lower(), claims.tenant_plan
end

return function()
  -- CORS preflights are answered by the gateway's cors plugin itself; counted, they would double a web app's count.
  if kong.request.get_method() == "OPTIONS" and kong.request.get_header("access-control-request-method") ~= nil then return end
  local now = ngx.now()
  -- No verified claim: the request counts against the tenant whose API key it carries, the project's owner.
  local tenant, plan = verified_tenant(kong.request.get_header("authorization"), now)
  tenant = tenant or settings.owner
  -- A plan this project's tenants are not on (or none: a registry's own sign-up) gets the owner's plan's limit.
  local limit = type(plan) == "string" and settings.plans[plan] or settings.fallback
  local window = math.floor(now / WINDOW)
  local counts = ngx.shared[settings.dict]
  if counts == nil then
    -- Fail open: a gateway that cannot count still serves, and says why.
    return kong.log.err("rate limit: no shared dict ", settings.dict)
  end
  local count, err = counts:incr(tenant .. ":" .. window, 1, 0, WINDOW)
  if count == nil then
    return kong.log.err("rate limit: not counted: ", err)
  end
  if count > limit then
    local retry_after = math.max(1, math.ceil((window + 1) * WINDOW - now))
    return kong.response.exit(429, { message = "API rate limit exceeded" }, {
      ["Retry-After"] = retry_after,
      ["RateLimit-Limit"] = limit,
      ["RateLimit-Remaining"] = 0,
      ["RateLimit-Reset"] = retry_after,
    })
  end
end
