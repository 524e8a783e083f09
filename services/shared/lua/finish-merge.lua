--[[
  Records a published merge. The chunk map stays until the worker has deleted the
  chunk files it names, so a crash in between can still find and delete them.
  KEYS[1] upload meta hash
  ARGV 1 upload id, 2 path, 3 size, 4 sha256, 5 now (ms), 6 result TTL (s)
  Returns 1 when recorded (or already), 0 when the upload is not this job's any more.
]]
local current = redis.call('HMGET', KEYS[1], 'state', 'uploadId')
if current[2] ~= ARGV[1] then return 0 end
if current[1] == 'complete' then return 1 end
if current[1] ~= 'merging' then return 0 end
redis.call('HSET', KEYS[1], 'state', 'complete', 'path', ARGV[2], 'size', ARGV[3],
  'sha256', ARGV[4], 'finishedAt', ARGV[5])
redis.call('EXPIRE', KEYS[1], ARGV[6])
publishEvent(KEYS[1], { type = 'state', state = 'complete', path = ARGV[2], size = tonumber(ARGV[3]), sha256 = ARGV[4] })
return 1
