-- GET /api/v1/payment/orders/{id}, round-robin over the seeded orders (orders.txt), as their owner.
-- Cached or uncached depends on the server (the uncached instance runs with PAYPORT_TTL_ORDER=0).
dofile(os.getenv("BENCH_WRK_DIR") .. "/lib.lua")
local ids, i, auth
function init(args)
  ids = bench.lines("orders.txt")
  auth = "Bearer " .. bench.token()
  i = (tid or 1) * 7919 % #ids
end
function request()
  i = i % #ids + 1
  return wrk.format("GET", "/api/v1/payment/orders/" .. ids[i], {["Authorization"] = auth})
end
