-- wrk script of bench/authn.bench.ts: POST /authenticate TokenReviews, one body per line of a file
-- (requests built in init, so request() only hands them out), the i-th request gets line i
-- (wrapping), the thread stops after MAX answers; an answer that is not 200 with
-- "authenticated":true is counted. done() prints one JSON line for the bench to read.
--   wrk -t1 -c32 -d30s -s bench/authn-wrk.lua https://127.0.0.1:PORT -- BODIES_FILE MAX
-- Or, to load the STS verifier alone, GETs of presigned URLs (one path+query per line; 200 expected):
--   wrk ... http://127.0.0.1:PORT -- PATHS_FILE MAX get STS_HOST CLUSTER_ID
local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } authn_bench_timespec;
int clock_gettime(int clk_id, authn_bench_timespec *tp);
]]
local ts = ffi.new("authn_bench_timespec")
-- CLOCK_MONOTONIC in µs: wrk's own duration is the whole -d time even when the thread stops earlier
local function now_us()
  ffi.C.clock_gettime(1, ts)
  return tonumber(ts.tv_sec) * 1e6 + tonumber(ts.tv_nsec) / 1e3
end

-- globals of each thread: done() reads them with thread:get
first_us = 0
last_us = 0
answered = 0
bad = 0

local reqs = {}
local n = 0
local sent = 0
local max = 0
local get = false

function init(args)
  get = args[3] == "get"
  local f = assert(io.open(args[1], "r"))
  for line in f:lines() do
    n = n + 1
    if get then
      reqs[n] = wrk.format("GET", line, { ["Host"] = args[4], ["x-k8s-aws-id"] = args[5], ["Accept"] = "application/json" })
    else
      reqs[n] = wrk.format("POST", "/authenticate", { ["Content-Type"] = "application/json", ["Accept"] = "application/json" }, line)
    end
  end
  f:close()
  max = tonumber(args[2])
end

function request()
  if sent == 0 then first_us = now_us() end
  sent = sent + 1
  return reqs[((sent - 1) % n) + 1]
end

function response(status, headers, body)
  answered = answered + 1
  last_us = now_us()
  if status ~= 200 or (not get and not string.find(body, '"authenticated":true', 1, true)) then
    bad = bad + 1
  end
  if answered >= max then
    wrk.thread:stop()
  end
end

threads = {}
function setup(thread)
  table.insert(threads, thread)
end

function done(summary, latency, requests)
  local notok, first, last, count = 0, math.huge, 0, 0
  for _, t in ipairs(threads) do
    notok = notok + t:get("bad")
    local a = t:get("answered")
    count = count + a
    if a > 0 then
      first = math.min(first, t:get("first_us"))
      last = math.max(last, t:get("last_us"))
    end
  end
  io.write(string.format(
    '{"requests":%d,"answered":%d,"elapsedUs":%d,"wrkDurationUs":%d,"p50Us":%d,"p90Us":%d,"p99Us":%d,"maxUs":%d,"meanUs":%.1f,"connectErrors":%d,"readErrors":%d,"writeErrors":%d,"timeouts":%d,"non2xx":%d,"notOk":%d}\n',
    summary.requests, count, count > 0 and (last - first) or 0, summary.duration,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean,
    summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.timeout, summary.errors.status, notok))
end
