-- wrk script of scripts/bench.sh: every request is a POST carrying the
-- bearer token of the next user in the file named by GATEPASS_TOKENS (one
-- token a line), with the JSON body GATEPASS_BODY if set. The requests are
-- rendered once in init(), so that request() costs wrk a table lookup.
-- done() prints wrk's figures as one JSON line after the marker
-- "gatepass-bench " for test/bench/harness.

local requests, count, next = {}, 0, 0

function init(args)
  local path = os.getenv("GATEPASS_TOKENS") or error("GATEPASS_TOKENS is not set")
  local body = os.getenv("GATEPASS_BODY")
  if body == "" then body = nil end
  local headers = { ["Accept"] = "application/json" }
  if body then
    headers["Content-Type"] = "application/json"
  else
    headers["Content-Length"] = "0"
  end
  for token in io.lines(path) do
    if token ~= "" then
      headers["Authorization"] = "Bearer " .. token
      count = count + 1
      requests[count] = wrk.format("POST", nil, headers, body)
    end
  end
  if count == 0 then error("no tokens in " .. path) end
end

function request()
  next = next % count + 1
  return requests[next]
end

function done(summary, latency, _)
  local e = summary.errors
  io.write(string.format(
    'gatepass-bench {"duration_us":%d,"requests":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"mean":%.1f,"p50":%d,"p90":%d,"p99":%d,"max":%d}}\n',
    summary.duration, summary.requests,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
