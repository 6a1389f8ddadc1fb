-- GET /api/v1/payment/orders?limit=10 (first page of the owner's orders; cached per owner+query).
dofile(os.getenv("BENCH_WRK_DIR") .. "/lib.lua")
function init(args)
  wrk.headers["Authorization"] = "Bearer " .. bench.token()
end
wrk.method = "GET"
wrk.path = "/api/v1/payment/orders?limit=10"
