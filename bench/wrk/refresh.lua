-- wrk -s refresh.lua: POST /api/token/refresh/ with rotating refresh tokens.
-- A refresh token is single-use (rotation + blacklist), so each thread keeps a pool: a request
-- takes a token out, its response puts the new one back. REFRESH_TOKENS holds at least one
-- token per connection (space-separated); THREADS is wrk's --threads.
local next_id = 0

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
end

function init(args)
  pool = {}
  local threads, i = tonumber(os.getenv("THREADS")), 0
  for token in string.gmatch(os.getenv("REFRESH_TOKENS"), "%S+") do
    if i % threads == id then
      table.insert(pool, token)
    end
    i = i + 1
  end
end

function request()
  -- An empty pool means responses went missing (errors): the request then fails as a 401.
  local token = table.remove(pool) or "none"
  return wrk.format("POST", nil, { ["Content-Type"] = "application/json" }, '{"refresh":"' .. token .. '"}')
end

function response(status, headers, body)
  local token = string.match(body, '"refresh"%s*:%s*"([^"]+)"')
  if token then
    table.insert(pool, token)
  end
end
