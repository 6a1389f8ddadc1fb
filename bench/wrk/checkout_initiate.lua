-- POST /api/v1/checkout/initiate with one line item (a new checkout session per request; no Idempotency-Key,
-- which is optional here). The bench raises the checkout_initiate rate limit so it does not answer 429.
dofile(os.getenv("BENCH_WRK_DIR") .. "/lib.lua")
function init(args)
  wrk.headers["Authorization"] = "Bearer " .. bench.token()
end
wrk.method = "POST"
wrk.path = "/api/v1/checkout/initiate"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"items":[{"sku":"NG-RICE-5KG","quantity":1}]}'
