-- Shared by the wrk scenarios: prints one JSON line in idgate-bench's format.
-- Set SCENARIO, LABEL and CONCURRENCY in the environment.
local M = {}

function M.done(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.status + summary.errors.timeout
  local seconds = summary.duration / 1e6
  io.write(string.format(
    '{"scenario":"%s","label":"%s","concurrency":%d,"requests":%d,"errors":%d,"seconds":%.2f,"rate":%.0f,"p50_ms":%.3f,"p99_ms":%.3f,"max_ms":%.3f,"tool":"wrk"}\n',
    os.getenv("SCENARIO") or "?", os.getenv("LABEL") or "?", tonumber(os.getenv("CONCURRENCY") or "0"),
    summary.requests, errors, seconds, summary.requests / seconds,
    latency:percentile(50.0) / 1000, latency:percentile(99.0) / 1000, latency.max / 1000))
end

return M
