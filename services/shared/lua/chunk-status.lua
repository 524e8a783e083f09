--[[
  Answers a test GET: is this chunk stored? One round trip, no disk access.
  KEYS[1] upload meta hash, KEYS[2] chunk map
  ARGV 1 chunk number, 2 fingerprint
  Returns: present | absent | conflict | failed | cancelled
]]
local current = redis.call('HMGET', KEYS[1], 'state', 'fingerprint')
local state = current[1]
if not state then return 'absent' end
if current[2] ~= ARGV[2] then return 'conflict' end
if state == 'failed' or state == 'cancelled' then return state end
-- Once complete, the chunk files are gone but every chunk counts as stored.
if state ~= 'receiving' then return 'present' end
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 then return 'present' end
return 'absent'
