--[[
  Marks an upload failed with a reason (never a completed or cancelled one), so clients
  sending more data are stopped and the application can show why.
  KEYS[1] meta hash
  o.uploadId, o.reason, o.now, o.resultTtl
]]
local cur = redis.call('HMGET', KEYS[1], 'state', 'uploadId')
if cur[2] ~= o.uploadId or cur[1] == 'complete' or cur[1] == 'cancelled' then return 0 end
redis.call('HSET', KEYS[1], 'state', 'failed', 'error', o.reason, 'finishedAt', o.now)
redis.call('EXPIRE', KEYS[1], o.resultTtl)
publishEvent(KEYS[1], { type = 'state', state = 'failed', error = o.reason })
return 1
