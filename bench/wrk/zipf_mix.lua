-- A realistic read mix for the cache hit ratio: 90% order detail with Zipf(s)-distributed ids over the
-- seeded orders (rank 1 = the first id of a seeded shuffle), 8% the owner's order list (with one of a few
-- page sizes), 2% a catalog page. Env: BENCH_ZIPF_S (default 1.1), BENCH_SEED (default 42).
dofile(os.getenv("BENCH_WRK_DIR") .. "/lib.lua")
local ids, cdf, details, lists, products
local s = tonumber(os.getenv("BENCH_ZIPF_S") or "1.1")
local seed = tonumber(os.getenv("BENCH_SEED") or "42")
function init(args)
  ids = bench.lines("orders.txt")
  math.randomseed(seed)
  for k = #ids, 2, -1 do local j = math.random(k); ids[k], ids[j] = ids[j], ids[k] end  -- same shuffle in every thread
  math.randomseed(seed + (tid or 1))
  cdf = {}
  local total = 0
  for k = 1, #ids do total = total + 1 / (k ^ s); cdf[k] = total end
  for k = 1, #ids do cdf[k] = cdf[k] / total end
  local headers = {["Authorization"] = "Bearer " .. bench.token()}
  details, lists = {}, {}  -- formatted once: per request the generator only picks one
  for k = 1, #ids do details[k] = wrk.format("GET", "/api/v1/payment/orders/" .. ids[k], headers) end
  for k, limit in ipairs({10, 20, 50}) do lists[k] = wrk.format("GET", "/api/v1/payment/orders?limit=" .. limit, headers) end
  products = wrk.format("GET", "/api/v1/products?limit=10", nil)
end
local function zipf()
  local u = math.random()
  local lo, hi = 1, #cdf
  while lo < hi do
    local mid = math.floor((lo + hi) / 2)
    if cdf[mid] < u then lo = mid + 1 else hi = mid end
  end
  return lo
end
function request()
  local r = math.random()
  if r < 0.90 then
    bench.count("detail")
    return details[zipf()]
  elseif r < 0.98 then
    bench.count("list")
    return lists[math.random(#lists)]
  else
    bench.count("products")
    return products
  end
end
