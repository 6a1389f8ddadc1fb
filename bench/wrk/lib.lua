-- Shared helpers for the bench scenarios (wrk 4.x). Each scenario does:
--   dofile(os.getenv("BENCH_WRK_DIR") .. "/lib.lua")
-- Env: BENCH_DATA (dir with token.txt, orders.txt, ...), BENCH_DELAY_MS (pace each connection), BENCH_RUN_ID.
bench = {}
bench.data = os.getenv("BENCH_DATA") or "."
bench.run_id = os.getenv("BENCH_RUN_ID") or tostring(os.time())

function bench.lines(name)
  local t = {}
  local f = io.open(bench.data .. "/" .. name, "r")
  if not f then return t end
  for line in f:lines() do if #line > 0 then t[#t + 1] = line end end
  f:close()
  return t
end

function bench.token()
  local t = bench.lines("token.txt")
  return t[1]
end

local threads = {}
local tcount = 0
function setup(thread)
  tcount = tcount + 1
  thread:set("tid", tcount)
  thread:set("nthreads", 0)
  threads[#threads + 1] = thread
end

counters = {}  -- per thread; summed in done()
function bench.count(name) counters[name] = (counters[name] or 0) + 1 end

local delay_ms = tonumber(os.getenv("BENCH_DELAY_MS") or "")
if delay_ms and delay_ms > 0 then
  function delay() return delay_ms end
end

local function json_escape(s) return (tostring(s):gsub('\\', '\\\\'):gsub('"', '\\"')) end

function done(summary, latency, requests)
  local totals = {}
  for _, t in ipairs(threads) do
    local c = t:get("counters")
    if c then for k, v in pairs(c) do totals[k] = (totals[k] or 0) + v end end
  end
  local e = summary.errors
  local parts = {}
  for k, v in pairs(totals) do parts[#parts + 1] = string.format('"%s":%d', json_escape(k), v) end
  io.write(string.format(
    'BENCHJSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"mean":%.1f,"stdev":%.1f,"max":%d,"p50":%d,"p90":%d,"p99":%d,"p999":%d},"counters":{%s}}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency.stdev, latency.max,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9),
    table.concat(parts, ",")))
end
return bench
