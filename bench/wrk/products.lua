-- GET /api/v1/products?limit=10 (anonymous catalog page; cached).
dofile(os.getenv("BENCH_WRK_DIR") .. "/lib.lua")
wrk.method = "GET"
wrk.path = "/api/v1/products?limit=10"
