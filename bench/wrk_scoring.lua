-- Upstream traffic for bench/load.py's wrk client. BENCH_MODE "single": each request scores one
-- demo transaction; "batch": BENCH_BATCH_SIZE of them, with "Connection: close" as locust sent
-- batches (a new connection per batch lets the kernel spread batches over the web workers,
-- where kept-alive connections could leave both clients on one worker, one core). Every
-- transaction has a fresh request_id; features come from BENCH_POOL (one JSON object per
-- line), taken in turn.
local pool = {}
local counter = 0
local cursor = 0
local thread_tag = ""
local next_thread = 0
local batch = os.getenv("BENCH_MODE") == "batch"
local batch_size = tonumber(os.getenv("BENCH_BATCH_SIZE") or "1000")

-- Runs once per wrk thread in the main state: give each thread its own request_id tag.
function setup(thread)
  next_thread = next_thread + 1
  thread:set("tag", string.format("%d-%d", os.time(), next_thread))
end

function init(args)
  for line in io.lines(os.getenv("BENCH_POOL")) do
    pool[#pool + 1] = line
  end
  thread_tag = tag
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = "Api-Key " .. os.getenv("BENCH_API_KEY")
  if batch then
    wrk.headers["Connection"] = "close"
  end
end

local function next_features()
  cursor = (cursor % #pool) + 1
  return pool[cursor]
end

function request()
  counter = counter + 1
  if not batch then
    local body = string.format('{"request_id":"wrk-%s-%d","features":%s}', thread_tag, counter, next_features())
    return wrk.format(nil, "/api/v1/predictions/", nil, body)
  end
  local items = {}
  for i = 1, batch_size do
    items[i] = string.format('{"request_id":"wrkb-%s-%d-%d","features":%s}', thread_tag, counter, i, next_features())
  end
  return wrk.format(nil, "/api/v1/predictions/batch/", nil, '{"items":[' .. table.concat(items, ",") .. "]}")
end

function done(summary, latency, requests)
  io.write(string.format(
    "WRK requests=%d errors=%d duration_us=%d p50_us=%d p90_us=%d p99_us=%d max_us=%d\n",
    summary.requests,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.status
      + summary.errors.timeout,
    summary.duration, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max))
end
