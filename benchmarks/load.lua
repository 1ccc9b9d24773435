-- wrk script for `make bench`: one request shape per run, a distinct body per request.
-- args: METHOD PATH [BODIES_FILE [AUTHORIZATION]]
--   BODIES_FILE holds one JSON body per line; request n sends line n (wrapping at the end),
--   so every /verify of an allow run carries a pass never shown before.
-- done() prints one line "BENCH_RESULT {json}" that benchmarks/loadgen.py reads.

local method, path
local requests = {}
local next_request = 1

function init(args)
  method, path = args[1], args[2]
  local headers = { ["Content-Type"] = "application/json" }
  if args[4] and args[4] ~= "" then
    headers["Authorization"] = args[4]
  end
  if args[3] and args[3] ~= "" then
    for body in io.lines(args[3]) do
      requests[#requests + 1] = wrk.format(method, path, headers, body)
    end
  else
    requests[1] = wrk.format(method, path, headers)
  end
end

function request()
  local chosen = requests[next_request]
  next_request = next_request % #requests + 1
  return chosen
end

function done(summary, latency, _)
  local errors = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests":%d,"duration_us":%d,"bytes":%d,"p50_us":%d,"p99_us":%d,' ..
    '"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}\n',
    summary.requests, summary.duration, summary.bytes,
    latency:percentile(50), latency:percentile(99),
    errors.connect, errors.read, errors.write, errors.status, errors.timeout))
end
