-- wrk script: the `identifier` header of each request (bench/many_users.py, bench/memory.py).
--   wrk ... -s bench/identifiers.lua URL -- MODE N THREADS
-- MODE: random          user<k>@example.com, k uniform in [0, N)
--       distinct        user<k>@example.com, k = 0, 1, 2, ... (each thread its share), mod N
--       unknown-random  nobody<k>@example.com, k uniform in [0, 10^9): no such account
--       unknown-same    nobody@example.com on every request
local counter = 0

function setup(thread)
  thread:set("thread_index", counter)
  counter = counter + 1
end

local mode, n, threads, seq

function init(args)
  mode = args[1] or "random"
  n = tonumber(args[2] or "1")
  threads = tonumber(args[3] or "1")
  local index = thread_index or 0
  seq = index
  math.randomseed(os.time() * 1000 + index * 7919 + math.floor(os.clock() * 1000000))
end

function request()
  local who
  if mode == "random" then
    who = "user" .. math.random(0, n - 1) .. "@example.com"
  elseif mode == "distinct" then
    who = "user" .. (seq % n) .. "@example.com"
    seq = seq + threads
  elseif mode == "unknown-random" then
    who = "nobody" .. math.random(0, 1000000000) .. "@example.com"
  else
    who = "nobody@example.com"
  end
  wrk.headers["identifier"] = who
  return wrk.format()
end
