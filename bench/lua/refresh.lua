-- POST /api/auth/token/refresh/. A refresh token is single-use (presenting it twice revokes
-- its session), so each thread keeps a pool of live tokens from distinct sessions
-- (BENCH_REFRESH: one a line, shared out between threads): a request takes a token out of
-- the pool and its 200 response puts the rotated successor back. Every connection has at most
-- one request in flight, so a token is never sent twice; the pool only runs dry when chains
-- break (counted as pool_empty, and the request then carries a dead token and fails).
dofile(os.getenv("BENCH_LUA") .. "/lib.lua")

pool = {}
local headers = { ["Content-Type"] = "application/json" }
counts_responses = true

function init(args)
  pool = lines_for_thread(os.getenv("BENCH_REFRESH"), id, env_number("BENCH_THREADS", 1))
end

function take_refresh()
  local token = table.remove(pool)
  if token == nil then
    pool_empty = pool_empty + 1
    token = "pool-empty"
  end
  return wrk.format("POST", "/api/auth/token/refresh/", headers,
    string.format('{"refresh":"%s"}', token))
end

function keep_rotated(status, body)
  if status == 200 then
    local token = string.match(body, '"refresh"%s*:%s*"([^"]+)"')
    if token ~= nil then
      table.insert(pool, token)
    end
  end
end

function request()
  return take_refresh()
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
  end
  keep_rotated(status, body)
end
