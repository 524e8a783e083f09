--[[
  Moves an upload into "merging" for a merge job, and says what the job should do.
  KEYS[1] upload meta hash, KEYS[2] chunk map
  ARGV 1 upload id, 2 now (ms), 3 TTL (s) to keep both while the merge may be retried
  Returns: merge | complete | failed | stale (another upload owns the key now) | missing |
  early (still receiving, and this is its early merge: append chunks as they arrive) | receiving
]]
local current = redis.call('HMGET', KEYS[1], 'state', 'uploadId', 'earlyMerge')
local state = current[1]
if not state then return 'missing' end
if current[2] ~= ARGV[1] then return 'stale' end
if state == 'complete' then return 'complete' end
if state == 'failed' or state == 'cancelled' then return 'failed' end
if state == 'receiving' then
  if current[3] == 'started' then return 'early' end
  return 'receiving'
end
redis.call('HSET', KEYS[1], 'state', 'merging', 'mergeStartedAt', ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[3])
redis.call('EXPIRE', KEYS[2], ARGV[3])
publishEvent(KEYS[1], { type = 'state', state = 'merging' })
return 'merge'
