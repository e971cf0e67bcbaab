-- A fixed GET; optional bearer token from BENCH_BEARER (the admin listings).
dofile(os.getenv("BENCH_LUA") .. "/lib.lua")

local bearer = os.getenv("BENCH_BEARER")
if bearer ~= nil and bearer ~= "" then
  wrk.headers["Authorization"] = "Bearer " .. bearer
end
