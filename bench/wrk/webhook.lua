-- POST /api/v1/payment/webhooks/sandbox: one pre-signed payment.approved event per pre-created intent
-- (webhooks.txt: "<Payport-Sandbox-Signature>\t<raw body>"). Each line is sent once (fresh: verify ->
-- inbox -> settle); when the list is exhausted it starts over and the server answers "duplicate" (dedup).
-- Counters: fresh / repeat. With several threads, each thread takes its own stride of the list.
-- BENCH_WEBHOOK_FROM=n starts after the first n lines (a second run sends events the first did not).
dofile(os.getenv("BENCH_WRK_DIR") .. "/lib.lua")
local sigs, bodies, i, n, step
function init(args)
  sigs, bodies = {}, {}
  for _, line in ipairs(bench.lines("webhooks.txt")) do
    local tab = line:find("\t", 1, true)
    sigs[#sigs + 1] = line:sub(1, tab - 1)
    bodies[#bodies + 1] = line:sub(tab + 1)
  end
  n = 0
  step = tonumber(os.getenv("BENCH_THREADS") or "1")
  local from = tonumber(os.getenv("BENCH_WEBHOOK_FROM") or "0")
  i = from + (tid or 1) - step
end
function request()
  i = i + step
  n = n + 1
  if i > #bodies then bench.count("repeat") else bench.count("fresh") end
  local k = (i - 1) % #bodies + 1
  return wrk.format("POST", "/api/v1/payment/webhooks/sandbox",
    {["Content-Type"] = "application/json", ["Payport-Sandbox-Signature"] = sigs[k]}, bodies[k])
end
