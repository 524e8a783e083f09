--[[
  Marks a completed upload as queued once its merge job was added. Only from
  "completing": a fast worker may already have moved it on, and that must stand.
  KEYS[1] upload meta hash; ARGV 1 upload id, 2 now (ms)
]]
if redis.call('HGET', KEYS[1], 'uploadId') ~= ARGV[1] then return 0 end
if redis.call('HGET', KEYS[1], 'state') ~= 'completing' then return 0 end
redis.call('HSET', KEYS[1], 'state', 'queued', 'queuedAt', ARGV[2])
publishEvent(KEYS[1], { type = 'state', state = 'queued' })
return 1
