-- Upstream traffic for bench/load.py --client wrk: each request scores one demo transaction
-- under a fresh request_id. Bodies come from BENCH_POOL (one JSON object of features per line).
local pool = {}
local counter = 0
local thread_tag = ""
local next_thread = 0

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
end

function request()
  counter = counter + 1
  local features = pool[(counter % #pool) + 1]
  local body = string.format('{"request_id":"wrk-%s-%d","features":%s}', thread_tag, counter, features)
  return wrk.format(nil, "/api/v1/predictions/", nil, body)
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
