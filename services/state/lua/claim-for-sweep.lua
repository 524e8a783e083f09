--[[
  The sweep may remove an upload's stored bytes only while nothing can start writing to
  them: no live upload owns them (a tus partial that completed still waits for its
  final), and a claim, held for o.holdMs, makes record-ranges.lua answer "busy" to any
  request that would start a new upload under this key meanwhile (the client retries,
  and writes again once the old bytes are gone).
  KEYS[1] meta hash, KEYS[2] sweep claim
  o.storageKey, o.holdMs
  Returns 1 when claimed (the bytes may go), 0 when they still belong to an upload.
]]
local cur = redis.call('HMGET', KEYS[1], 'state', 'storageKey', 'partial')
local state = cur[1]
if state and cur[2] == o.storageKey then
  if state == 'receiving' or state == 'queued' or state == 'merging' then return 0 end
  if state == 'complete' and cur[3] == '1' then return 0 end
end
redis.call('SET', KEYS[2], '1', 'PX', o.holdMs)
return 1
