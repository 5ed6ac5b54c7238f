-- GET of one path (BENCH_PATH), with X-API-Key when BENCH_KEY is set: the proxy part compares
-- the same request direct to the upstream and through tokenvault's proxy.
local key = os.getenv("BENCH_KEY")
local path = os.getenv("BENCH_PATH")
local headers = {}
if key and key ~= "" then
  headers["X-API-Key"] = key
end
local prepared = nil

request = function()
  if not prepared then
    prepared = wrk.format("GET", path, headers)
  end
  return prepared
end

done = require("summary").done
