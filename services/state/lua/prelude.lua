--[[
  Prepended to every upload script (script-loader.ts). Every script takes one packed
  argument, ARGV[1], a JSON object: named options instead of positional ones. Its `channel`
  and `keyHash` let scripts publish upload events, so every ingest instance can stream live
  status to its clients whichever instance or worker caused the change.
]]
local o = cjson.decode(ARGV[1])

-- Integers as Redis stores them: never in exponent notation (Lua 5.1's tostring(2^40) is).
local function fmt(n) return string.format('%.0f', n) end

local function publishEvent(meta, event)
  if not o.channel then return end
  local who = redis.call('HMGET', meta, 'scope', 'identifier', 'uploadId')
  event.scope, event.identifier, event.uploadId, event.keyHash = who[1], who[2], who[3], o.keyHash
  redis.call('PUBLISH', o.channel, cjson.encode(event))
end

-- The piece count once the roundings settle on one geometry (layout.ts), or -1.
local function settledPieces(size, pieceSize, roundings)
  if not size or not pieceSize or pieceSize <= 0 then return -1 end
  local floor = math.max(math.floor(size / pieceSize), 1)
  local ceil = math.max(math.ceil(size / pieceSize), 1)
  if roundings == 1 then return floor end
  if roundings == 2 then return ceil end
  if floor == ceil then return floor end
  return -1
end
