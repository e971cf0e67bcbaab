-- POST /api/auth/login/ as random active seeded users (user{n}@example.com, 1 <= n <= BENCH_USERS;
-- the seeder deactivates every 25th user, who are skipped).
dofile(os.getenv("BENCH_LUA") .. "/lib.lua")

local users = env_number("BENCH_USERS", 1000)
local password = os.getenv("BENCH_PASSWORD")
local headers = { ["Content-Type"] = "application/json" }

function init(args)
  math.randomseed(os.time() * 1000 + id)
end

function random_login()
  local n = math.random(1, users)
  if n % 25 == 0 then
    n = n - 1
  end
  return wrk.format("POST", "/api/auth/login/", headers,
    string.format('{"email":"user%d@example.com","password":"%s"}', n, password))
end

function request()
  return random_login()
end
