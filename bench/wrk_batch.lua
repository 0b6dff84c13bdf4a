-- Upstream traffic for bench/load.py --mode batch --client wrk: each request scores a batch of
-- BENCH_BATCH_SIZE demo transactions, each under a fresh request_id. Features come from
-- BENCH_POOL (one JSON object per line), taken in turn. "Connection: close", as locust sent it:
-- a new connection per batch lets the kernel spread batches over the web workers, where kept-alive
-- connections could leave both clients on one worker (one core).
local pool = {}
local counter = 0
local cursor = 0
local thread_tag = ""
local next_thread = 0
local batch_size = tonumber(os.getenv("BENCH_BATCH_SIZE") or "1000")

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
  wrk.headers["Connection"] = "close"
  wrk.headers["Authorization"] = "Api-Key " .. os.getenv("BENCH_API_KEY")
end

function request()
  counter = counter + 1
  local items = {}
  for i = 1, batch_size do
    cursor = (cursor % #pool) + 1
    items[i] = string.format('{"request_id":"wrkb-%s-%d-%d","features":%s}', thread_tag, counter, i, pool[cursor])
  end
  local body = '{"items":[' .. table.concat(items, ",") .. ']}'
  return wrk.format(nil, "/api/v1/predictions/batch/", nil, body)
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
