-- A mix, by weight (BENCH_MIX = "me,refresh,admin,login" percentages, default 80,10,5,5):
-- GET /me, refresh (token pools as in refresh.lua), the admin list's first page, and login.
dofile(os.getenv("BENCH_LUA") .. "/refresh.lua")
dofile(os.getenv("BENCH_LUA") .. "/login.lua")

local me = {}
local me_cursor = 0
local admin_request
local bounds = {}

function init(args)
  local threads_count = env_number("BENCH_THREADS", 1)
  math.randomseed(os.time() * 1000 + id)
  pool = lines_for_thread(os.getenv("BENCH_REFRESH"), id, threads_count)
  for _, token in ipairs(lines_for_thread(os.getenv("BENCH_TOKENS"), id, threads_count)) do
    table.insert(me, wrk.format("GET", "/api/users/me/", { ["Authorization"] = "Bearer " .. token }))
  end
  admin_request = wrk.format("GET", "/api/admin/users/?page=1", { ["Authorization"] = "Bearer " .. os.getenv("BENCH_BEARER") })
  local total = 0
  for weight in string.gmatch(os.getenv("BENCH_MIX") or "80,10,5,5", "[^,]+") do
    total = total + tonumber(weight)
    table.insert(bounds, total)
  end
  for index, bound in ipairs(bounds) do
    bounds[index] = bound / total
  end
end

function request()
  local draw = math.random()
  if draw < bounds[1] then
    me_cursor = me_cursor % #me + 1
    return me[me_cursor]
  elseif draw < bounds[2] then
    return take_refresh()
  elseif draw < bounds[3] then
    return admin_request
  end
  return random_login()
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
  end
  -- Only a refresh answers with a refresh token and no user (a login also has "user").
  if not string.find(body, '"user"', 1, true) then
    keep_rotated(status, body)
  end
end
