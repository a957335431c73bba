-- wrk script for the end-to-end benchmark (bench/drivers.py sets the variables).
-- POSTs BENCH_BODY with one extra header, stops each thread after BENCH_LIMIT
-- answers (the request cap; wrk's -d is the time cap), and prints one JSON
-- line, prefixed "BENCH ", with the counts and latency percentiles.
local limit = tonumber(os.getenv("BENCH_LIMIT") or "0")
local answered = 0

wrk.method = "POST"
wrk.body = os.getenv("BENCH_BODY")
wrk.headers["Content-Type"] = "application/json"
wrk.headers[os.getenv("BENCH_HEADER")] = os.getenv("BENCH_HEADER_VALUE")

function response(status, headers, body)
  answered = answered + 1
  if limit > 0 and answered >= limit then
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "non_2xx": %d, "socket_errors": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.status, e.connect + e.read + e.write + e.timeout))
end
