-- Bare aiohttp baseline: GET / (a fixed 1 KB JSON body).
dofile(os.getenv("BENCH_WRK_DIR") .. "/lib.lua")
wrk.method = "GET"
wrk.path = "/"
