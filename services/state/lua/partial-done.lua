--[[
  tus concatenation: one of a final upload's partials is complete. Counted once per
  partial (a notification may come twice: from the partial's last request and from the
  final's creation); the call that counts the last one completes the final upload, which
  is then queued for its merge like any other upload: exactly once.
  KEYS[1] final's meta hash, KEYS[2] hash: partial id -> size
  o.partialId, o.size, o.now, o.resultTtl
  Returns: completed | waiting | done | missing
]]
local cur = redis.call('HMGET', KEYS[1], 'state', 'concatOf')
local state = cur[1]
if not state then return 'missing' end
if state ~= 'receiving' then return 'done' end
redis.call('HSETNX', KEYS[2], o.partialId, fmt(o.size))
redis.call('EXPIRE', KEYS[2], o.resultTtl)
if redis.call('HLEN', KEYS[2]) < #cjson.decode(cur[2]) then return 'waiting' end
local total = 0
for _, size in ipairs(redis.call('HVALS', KEYS[2])) do total = total + tonumber(size) end
redis.call('HSET', KEYS[1], 'state', 'queued', 'size', fmt(total), 'stored', fmt(total), 'prefix', fmt(total),
  'completedAt', o.now, 'expiresAt', o.now + o.resultTtl * 1000)
redis.call('EXPIRE', KEYS[1], o.resultTtl)
publishEvent(KEYS[1], { type = 'state', state = 'queued', size = total })
return 'completed'
