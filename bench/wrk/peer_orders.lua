-- A peer server's order detail (../shared/peers): GET <BENCH_PEER_PATH with %d = id>, ids 1..1000 round-robin,
-- every request formatted once in init() (as order_detail.lua does for payport).
dofile(os.getenv("BENCH_WRK_DIR") .. "/lib.lua")
local reqs, i
function init(args)
  local path = os.getenv("BENCH_PEER_PATH") or "/orders/%d"
  reqs = {}
  for k = 1, 1000 do reqs[k] = wrk.format("GET", string.format(path, k)) end
  i = (tid or 1) * 7919 % #reqs
end
function request()
  i = i % #reqs + 1
  return reqs[i]
end
