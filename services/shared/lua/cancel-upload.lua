--[[
  Cancels an upload that is not complete: its state becomes "cancelled" (kept for the
  result TTL, so later chunks are refused) and its chunk map is dropped. The caller then
  deletes the chunk files; a merge under way finds its upload cancelled and discards its work.
  KEYS[1] upload meta hash, KEYS[2] chunk map
  ARGV 1 now (ms), 2 result TTL (s)
  Returns: cancelled | missing | complete
]]
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return 'missing' end
if state == 'complete' then return 'complete' end
if state ~= 'cancelled' then
  redis.call('HSET', KEYS[1], 'state', 'cancelled', 'finishedAt', ARGV[1])
  redis.call('DEL', KEYS[2])
  redis.call('EXPIRE', KEYS[1], ARGV[2])
  publishEvent(KEYS[1], { type = 'state', state = 'cancelled' })
end
return 'cancelled'
