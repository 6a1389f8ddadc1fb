-- GET /api/v1/payment/orders/{id}, round-robin over the seeded orders (orders.txt), as their owner.
-- Cached or uncached depends on the server (the uncached instance runs with PAYPORT_TTL_ORDER=0).
-- Every request is formatted once in init(): per request, the generator only hands out a prepared string
-- (as cheap as the baseline's static request), so the load generator costs the same on both sides.
dofile(os.getenv("BENCH_WRK_DIR") .. "/lib.lua")
local reqs, i
function init(args)
  local ids = bench.lines("orders.txt")
  local headers = {["Authorization"] = "Bearer " .. bench.token()}
  reqs = {}
  for k = 1, #ids do reqs[k] = wrk.format("GET", "/api/v1/payment/orders/" .. ids[k], headers) end
  i = (tid or 1) * 7919 % #reqs
end
function request()
  i = i % #reqs + 1
  return reqs[i]
end
