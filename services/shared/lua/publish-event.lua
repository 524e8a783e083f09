--[[
  Prepended to every script (upload-store.ts): publishes an upload event, so every
  ingest instance can stream live status to its clients whichever instance or worker
  caused the change. The last two ARGV of every script are the channel and the key hash.
]]
local EVENTS_CHANNEL, KEY_HASH = ARGV[#ARGV - 1], ARGV[#ARGV]

local function publishEvent(meta, event)
  local who = redis.call('HMGET', meta, 'scope', 'identifier', 'uploadId')
  event.scope, event.identifier, event.uploadId, event.keyHash = who[1], who[2], who[3], KEY_HASH
  redis.call('PUBLISH', EVENTS_CHANNEL, cjson.encode(event))
end
