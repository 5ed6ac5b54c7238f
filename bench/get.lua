-- GET of a stored (fresh, non-refreshing) credential over random users.
-- Env: BENCH_KEY (API key), BENCH_USERS (number of seeded users).
-- Requests are formatted once in init() so the load generator spends its CPU on sending them:
-- it shares the machine's cores with tokenvault and PostgreSQL.
local key = os.getenv("BENCH_KEY")
local users = tonumber(os.getenv("BENCH_USERS"))
local integrations = { "google", "openai", "github-pat" }
local requests = {}
local count = 0
local index = 0

function setup(thread)
  thread:set("seed", math.random(1, 1000000))
end

function init(args)
  math.randomseed(seed or os.time())
  count = math.min(users * 3, 20000)
  for i = 1, count do
    local user = math.random(0, users - 1)
    local integration = integrations[math.random(1, 3)]
    local path = string.format("/v2/users/u%05d/tokens/%s", user, integration)
    requests[i] = wrk.format("GET", path, { ["X-API-Key"] = key })
  end
  index = math.random(1, count)
end

request = function()
  index = index % count + 1
  return requests[index]
end

done = require("summary").done
