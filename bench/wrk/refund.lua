-- POST /api/v1/payment/refunds: a partial refund of 100 minor units, round-robin over succeeded payments
-- (payments.txt), each with a unique Idempotency-Key.
dofile(os.getenv("BENCH_WRK_DIR") .. "/lib.lua")
local ids, i, n, auth, prefix
function init(args)
  ids = bench.lines("payments.txt")
  auth = "Bearer " .. bench.token()
  i, n = (tid or 1) * 104729 % #ids, 0
  prefix = "bench-refund-" .. (os.getenv("BENCH_KEY_PREFIX") or "") .. bench.run_id .. "-" .. tostring(tid or 1) .. "-"
end
function request()
  i = i % #ids + 1
  n = n + 1
  return wrk.format("POST", "/api/v1/payment/refunds",
    {["Authorization"] = auth, ["Content-Type"] = "application/json", ["Idempotency-Key"] = prefix .. n},
    '{"payment_id":"' .. ids[i] .. '","amount":100,"reason":"requested_by_customer"}')
end
