--[[
  What an early merge needs to go on: the upload's state, where its contiguous bytes end,
  and the stored ranges from `from` on, in order. Read only.
  KEYS[1] meta hash, KEYS[2] ranges hash
  o.uploadId, o.from, o.max (ranges at most)
  Returns JSON { state | 'missing' | 'stale', prefix, size, ranges = { {offset, length, location} } }
]]
local cur = redis.call('HMGET', KEYS[1], 'state', 'uploadId', 'prefix', 'size')
if not cur[1] then return cjson.encode({ state = 'missing' }) end
if cur[2] ~= o.uploadId then return cjson.encode({ state = 'stale' }) end
local prefix = tonumber(cur[3]) or 0
local found, offset = {}, o.from
while offset < prefix and #found < o.max do
  local value = redis.call('HGET', KEYS[2], fmt(offset))
  if not value then break end
  local length, location = string.match(value, '^(%d+)|?(.*)$')
  length = tonumber(length)
  if length == 0 then break end
  found[#found + 1] = { offset, length, location }
  offset = offset + length
end
return cjson.encode({ state = cur[1], prefix = prefix, size = tonumber(cur[4]) or -1, ranges = found })
