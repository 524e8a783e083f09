--[[
  Uploads and bytes in progress per client (a token subject, or an address), so no client
  can fill Redis or the disk with abandoned uploads. Entries lapse with the upload's idle
  TTL if nothing releases them (an abandoned upload expires silently).
  KEYS[1] sorted set: upload key -> when its entry lapses; KEYS[2] hash: upload key -> bytes, and '_bytes'
  o.op = reserve | release, o.member, o.size, o.now, o.lapsesAt, o.maxUploads, o.maxBytes
  Returns: ok | uploads | bytes
]]
local z, h = KEYS[1], KEYS[2]
local function drop(member)
  local bytes = tonumber(redis.call('HGET', h, member) or '0')
  -- Lua writes minus zero as "-0", which Redis does not take for an integer.
  if bytes > 0 then redis.call('HINCRBY', h, '_bytes', fmt(-bytes)) end
  redis.call('HDEL', h, member)
  redis.call('ZREM', z, member)
end
for _, member in ipairs(redis.call('ZRANGEBYSCORE', z, '-inf', o.now)) do drop(member) end
if o.op == 'release' then
  if redis.call('ZSCORE', z, o.member) then drop(o.member) end
  return 'ok'
end
if redis.call('ZSCORE', z, o.member) then
  redis.call('ZADD', z, o.lapsesAt, o.member)
  return 'ok'
end
if redis.call('ZCARD', z) >= o.maxUploads then return 'uploads' end
if tonumber(redis.call('HGET', h, '_bytes') or '0') + o.size > o.maxBytes then return 'bytes' end
redis.call('ZADD', z, o.lapsesAt, o.member)
redis.call('HSET', h, o.member, fmt(o.size))
if o.size > 0 then redis.call('HINCRBY', h, '_bytes', fmt(o.size)) end
local keep = math.ceil((o.lapsesAt - o.now) / 1000) + 60
redis.call('EXPIRE', z, keep)
redis.call('EXPIRE', h, keep)
return 'ok'
