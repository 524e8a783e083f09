--[[
  Cancels an upload that is not complete: its state becomes "cancelled" and its ranges
  are dropped. The caller then removes the stored bytes; a merge under way finds its
  upload cancelled and discards its work. Data still in flight is refused for a grace
  period (record-ranges.lua), after which the id is free for a new upload.
  KEYS[1] meta hash, KEYS[2] ranges hash
  o.now, o.resultTtl
  Returns JSON { outcome = cancelled | missing | complete, storageKey, uploadId }
]]
local cur = redis.call('HMGET', KEYS[1], 'state', 'storageKey', 'uploadId')
local state = cur[1]
if not state then return cjson.encode({ outcome = 'missing' }) end
if state == 'complete' then return cjson.encode({ outcome = 'complete' }) end
if state ~= 'cancelled' then
  redis.call('HSET', KEYS[1], 'state', 'cancelled', 'cancelledAt', o.now, 'finishedAt', o.now)
  redis.call('DEL', KEYS[2])
  redis.call('EXPIRE', KEYS[1], o.resultTtl)
  publishEvent(KEYS[1], { type = 'state', state = 'cancelled' })
end
return cjson.encode({ outcome = 'cancelled', storageKey = cur[2], uploadId = cur[3] })
