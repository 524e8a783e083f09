--[[
  Answers a client's question "is this range stored?" (resumable.js's test GET): one
  round trip, no storage access.
  KEYS[1] meta hash, KEYS[2] ranges hash
  o.fingerprint, o.offset, o.now, o.cancelGraceMs
  Returns: present | absent | conflict | failed | cancelled
]]
local cur = redis.call('HMGET', KEYS[1], 'state', 'fingerprint', 'cancelledAt')
local state = cur[1]
if not state then return 'absent' end
if state == 'cancelled' then
  -- After the grace period the id is free for a new upload (record-ranges.lua).
  if o.now - (tonumber(cur[3]) or o.now) >= o.cancelGraceMs then return 'absent' end
  return 'cancelled'
end
if cur[2] ~= o.fingerprint then return 'conflict' end
if state == 'failed' then return state end
-- Once complete, every range counts as stored.
if state ~= 'receiving' then return 'present' end
if redis.call('HEXISTS', KEYS[2], fmt(o.offset)) == 1 then return 'present' end
return 'absent'
