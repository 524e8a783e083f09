--[[
  An early merge gives its worker slot back (no data for a while, or too many early
  merges at once): the upload will be merged once complete, by a job of its own.
  Atomic against record-ranges.lua: the completing request either sees "parked" and
  enqueues that job, or completed first, and the early merge carries on instead.
  KEYS[1] meta hash
  o.uploadId
  Returns 1 when parked, 0 when the upload is no longer receiving (or not this one)
]]
local cur = redis.call('HMGET', KEYS[1], 'state', 'uploadId', 'earlyMerge')
if cur[2] ~= o.uploadId or cur[1] ~= 'receiving' or cur[3] ~= 'started' then return 0 end
redis.call('HSET', KEYS[1], 'earlyMerge', 'parked')
return 1
