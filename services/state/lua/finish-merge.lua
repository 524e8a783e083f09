--[[
  Records a published merge. The ranges stay until the worker has removed the stored
  bytes they name, so a crash in between can still find and remove them.
  KEYS[1] meta hash
  o.uploadId, o.location, o.bucket, o.size, o.sha256, o.now, o.resultTtl
  Returns 1 when recorded (or already), 0 when the upload is not this job's any more.
]]
local cur = redis.call('HMGET', KEYS[1], 'state', 'uploadId')
if cur[2] ~= o.uploadId then return 0 end
if cur[1] == 'complete' then return 1 end
if cur[1] ~= 'merging' then return 0 end
redis.call('HSET', KEYS[1], 'state', 'complete', 'resultLocation', o.location, 'resultBucket', o.bucket or '',
  'resultSize', fmt(o.size), 'resultSha256', o.sha256, 'finishedAt', o.now)
redis.call('EXPIRE', KEYS[1], o.resultTtl)
publishEvent(KEYS[1], { type = 'state', state = 'complete', path = o.location, bucket = o.bucket, size = o.size, sha256 = o.sha256 })
return 1
