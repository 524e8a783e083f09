--[[
  tus concatenation: a final upload names this partial upload. If the partial is complete
  already, the caller counts it towards the final at once; otherwise the final is noted
  here and counted when the partial completes (record-ranges.lua returns the finals
  waiting for it).
  KEYS[1] partial's meta hash, KEYS[2] set of finals waiting for it, KEYS[3] its ranges hash
  o.finalKeyHash, o.now, o.resultTtl
  Returns JSON { outcome = missing | not_partial | failed | complete | waiting, size }
]]
local cur = redis.call('HMGET', KEYS[1], 'state', 'partial', 'size')
local state = cur[1]
if not state then return cjson.encode({ outcome = 'missing' }) end
if cur[2] ~= '1' then return cjson.encode({ outcome = 'not_partial' }) end
if state == 'failed' or state == 'cancelled' then return cjson.encode({ outcome = 'failed' }) end
-- The partial's bytes must outlive the final's merge.
redis.call('EXPIRE', KEYS[1], o.resultTtl)
redis.call('EXPIRE', KEYS[3], o.resultTtl)
if state == 'complete' then return cjson.encode({ outcome = 'complete', size = tonumber(cur[3]) }) end
redis.call('SADD', KEYS[2], o.finalKeyHash)
redis.call('EXPIRE', KEYS[2], o.resultTtl)
return cjson.encode({ outcome = 'waiting' })
