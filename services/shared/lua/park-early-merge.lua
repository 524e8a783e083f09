--[[
  An early merge gives its worker slot back (no chunk for a while, or too many early
  merges at once): the upload will be merged once complete, by a job of its own.
  Atomic against record-chunk.lua: the completing chunk either sees "parked" and
  enqueues that job, or completed first, and the early merge carries on instead.
  KEYS[1] upload meta hash
  ARGV 1 upload id
  Returns 1 when parked, 0 when the upload is no longer receiving (or not this one)
]]
local current = redis.call('HMGET', KEYS[1], 'state', 'uploadId', 'earlyMerge')
if current[2] ~= ARGV[1] or current[1] ~= 'receiving' or current[3] ~= 'started' then return 0 end
redis.call('HSET', KEYS[1], 'earlyMerge', 'parked')
return 1
