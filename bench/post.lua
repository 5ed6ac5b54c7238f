-- POST (store/replace) of an api_key credential for random users.
-- Env: BENCH_KEY, BENCH_USERS.
local key = os.getenv("BENCH_KEY")
local users = tonumber(os.getenv("BENCH_USERS"))
local counter = 0

function setup(thread)
  thread:set("seed", math.random(1, 1000000))
end

function init(args)
  math.randomseed(seed or os.time())
end

request = function()
  counter = counter + 1
  local user = math.random(0, users - 1)
  local body = string.format(
    '{"integration_key":"openai","provider":"openai","token_type":"api_key",' ..
    '"token_data":{"api_key":"sk-bench-%d-%d"}}', user, counter)
  return wrk.format("POST", string.format("/v2/users/u%05d/tokens", user),
    { ["X-API-Key"] = key, ["Content-Type"] = "application/json" }, body)
end

done = require("summary").done
