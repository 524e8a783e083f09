--[[
  Moves an upload into "merging" for a merge job, and says what the job should do.
  KEYS[1] meta hash, KEYS[2] ranges hash
  o.uploadId, o.now, o.resultTtl (keeps both while the merge may be retried)
  Returns: merge | complete | failed | stale (another upload owns the key now) | missing |
  early (still receiving, and this is its early merge: follow the bytes as they arrive) | receiving
]]
local cur = redis.call('HMGET', KEYS[1], 'state', 'uploadId', 'earlyMerge')
local state = cur[1]
if not state then return 'missing' end
if cur[2] ~= o.uploadId then return 'stale' end
if state == 'complete' then return 'complete' end
if state == 'failed' or state == 'cancelled' then return 'failed' end
if state == 'receiving' then
  if cur[3] == 'started' then return 'early' end
  return 'receiving'
end
redis.call('HSET', KEYS[1], 'state', 'merging', 'mergeStartedAt', o.now)
redis.call('EXPIRE', KEYS[1], o.resultTtl)
redis.call('EXPIRE', KEYS[2], o.resultTtl)
publishEvent(KEYS[1], { type = 'state', state = 'merging' })
return 'merge'
