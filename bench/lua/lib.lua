-- Shared by every scenario script: thread bookkeeping and one machine-readable result line.
-- wrk runs setup() and done() in the main Lua state, init()/request()/response() in one
-- Lua state per thread; per-thread counters are read back in done() with thread:get().

local threads = {}
local next_id = 0

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

-- Reads one token (or line) per line; returns the lines whose index falls to thread `id`
-- of `count` threads, so that no two threads ever hold the same token.
function lines_for_thread(path, id, count)
  local mine = {}
  local file = assert(io.open(path, "r"))
  local index = 0
  for line in file:lines() do
    if line ~= "" then
      if index % count == id then
        table.insert(mine, line)
      end
      index = index + 1
    end
  end
  file:close()
  return mine
end

function env_number(name, default)
  local value = os.getenv(name)
  if value == nil or value == "" then
    return default
  end
  return tonumber(value)
end

-- Counters a scenario's response() may bump (thread-local globals).
non2xx = 0
pool_empty = 0

function done(summary, latency, requests)
  local counted_non2xx = 0
  local counted_pool_empty = 0
  local have_counts = false
  for _, thread in ipairs(threads) do
    local value = thread:get("non2xx")
    if value ~= nil and thread:get("counts_responses") then
      have_counts = true
      counted_non2xx = counted_non2xx + value
    end
    counted_pool_empty = counted_pool_empty + (thread:get("pool_empty") or 0)
  end
  local errors = summary.errors
  local socket_errors = errors.connect + errors.read + errors.write + errors.timeout
  -- Without a response() hook wrk counts only status >= 400; with one, every non-2xx.
  local bad_status = errors.status
  if have_counts then
    bad_status = counted_non2xx
  end
  io.write(string.format(
    'BENCH_RESULT {"requests":%d,"duration_us":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,' ..
    '"mean_us":%.1f,"non2xx":%d,"socket_errors":%d,"connect":%d,"read":%d,"write":%d,"timeout":%d,' ..
    '"pool_empty":%d}\n',
    summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    latency.mean, bad_status, socket_errors, errors.connect, errors.read, errors.write,
    errors.timeout, counted_pool_empty))
end
