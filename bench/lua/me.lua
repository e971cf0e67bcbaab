-- GET /api/users/me/ with the access tokens of many sessions (BENCH_TOKENS: one a line),
-- each thread cycling through its own share. With BENCH_DELAY_MS each connection waits that
-- long between requests (a paced, interactive load instead of a flood).
dofile(os.getenv("BENCH_LUA") .. "/lib.lua")

local requests = {}
local cursor = 0
local pause = env_number("BENCH_DELAY_MS", 0)

function init(args)
  local tokens = lines_for_thread(os.getenv("BENCH_TOKENS"), id, env_number("BENCH_THREADS", 1))
  assert(#tokens > 0, "no access token for this thread")
  for _, token in ipairs(tokens) do
    table.insert(requests, wrk.format("GET", "/api/users/me/", { ["Authorization"] = "Bearer " .. token }))
  end
end

function request()
  cursor = cursor % #requests + 1
  return requests[cursor]
end

if pause > 0 then
  function delay()
    return pause
  end
end
