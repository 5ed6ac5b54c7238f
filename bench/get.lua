-- GET of a stored (fresh, non-refreshing) credential over random users.
-- Env: BENCH_KEY (API key), BENCH_USERS (number of seeded users).
local key = os.getenv("BENCH_KEY")
local users = tonumber(os.getenv("BENCH_USERS"))
local integrations = { "google", "openai", "github-pat" }

function setup(thread)
  thread:set("seed", math.random(1, 1000000))
end

function init(args)
  math.randomseed(seed or os.time())
end

request = function()
  local user = math.random(0, users - 1)
  local integration = integrations[math.random(1, 3)]
  local path = string.format("/v2/users/u%05d/tokens/%s", user, integration)
  return wrk.format("GET", path, { ["X-API-Key"] = key })
end

done = require("summary").done
