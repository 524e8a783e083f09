--[[
  Marks an upload failed with a reason (never a completed or cancelled one), so clients
  sending more chunks are stopped and the application can show why.
  KEYS[1] upload meta hash
  ARGV 1 upload id, 2 reason, 3 now (ms), 4 result TTL (s)
]]
local current = redis.call('HMGET', KEYS[1], 'state', 'uploadId')
if current[2] ~= ARGV[1] or current[1] == 'complete' or current[1] == 'cancelled' then return 0 end
redis.call('HSET', KEYS[1], 'state', 'failed', 'error', ARGV[2], 'finishedAt', ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[4])
publishEvent(KEYS[1], { type = 'state', state = 'failed', error = ARGV[2] })
return 1
