--[[
  One writer at a time for appends (tus PATCH, FilePond): a lease in Redis with a fencing
  token. A writer that dies holding the lock loses it when the lease lapses; a writer whose
  lease lapsed while it was stalled finds its token outdated when it records
  (record-ranges.lua checks o.fence), so its late bytes are never counted.
  KEYS[1] lock key, KEYS[2] meta hash (holds the fence counter)
  o.op = acquire | renew | release, o.fence, o.leaseMs
  acquire returns JSON { outcome = acquired | held | missing, fence, state, prefix, size, maxSize, uploadId, final }
  renew and release return 1, or 0 when the lock is no longer this fence's
]]
if o.op == 'acquire' then
  local cur = redis.call('HMGET', KEYS[2], 'state', 'prefix', 'size', 'maxSize', 'uploadId', 'concatOf')
  if not cur[1] then return cjson.encode({ outcome = 'missing' }) end
  local info = { state = cur[1], prefix = tonumber(cur[2]) or 0, size = tonumber(cur[3]) or -1,
    maxSize = tonumber(cur[4]) or 0, uploadId = cur[5], final = (cur[6] or '') ~= '' }
  if redis.call('EXISTS', KEYS[1]) == 1 then info.outcome = 'held'; return cjson.encode(info) end
  info.fence = redis.call('HINCRBY', KEYS[2], 'fence', 1)
  redis.call('SET', KEYS[1], info.fence, 'PX', o.leaseMs)
  info.outcome = 'acquired'
  return cjson.encode(info)
end
if redis.call('GET', KEYS[1]) ~= fmt(o.fence) then return 0 end
if o.op == 'renew' then
  redis.call('PEXPIRE', KEYS[1], o.leaseMs)
else
  redis.call('DEL', KEYS[1])
end
return 1
