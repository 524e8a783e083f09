--[[
  Creates an upload a client asked for explicitly (tus POST, FilePond's first POST), under
  an id the server chose. An empty upload is complete at once.
  KEYS[1] meta hash, KEYS[2] ranges hash
  o.declare (as in record-ranges.lua), o.fingerprint, o.now, o.idleTtl, o.resultTtl
  Returns: created | completed (empty, queued for its merge) | exists
]]
if redis.call('EXISTS', KEYS[1]) == 1 then return 'exists' end
local d = o.declare
local partial = d.partial == true
redis.call('DEL', KEYS[2])
redis.call('HSET', KEYS[1], 'uploadId', d.uploadId, 'state', 'receiving', 'fingerprint', o.fingerprint,
  'protocol', d.protocol, 'layout', d.layout, 'pieceSize', d.pieceSize or 0, 'roundings', d.roundings or 3,
  'size', d.size and fmt(d.size) or '', 'maxSize', fmt(d.maxSize or 0), 'name', d.name,
  'relativePath', d.relativePath, 'type', d.type, 'metadata', d.metadata or '{}', 'partial', partial and '1' or '',
  'concatOf', d.concatOf or '', 'identifier', d.identifier, 'scope', d.scope, 'storageKey', d.storageKey, 'quotaSubject', d.quotaSubject,
  'stored', 0, 'ranges', 0, 'prefix', 0, 'createdAt', o.now, 'updatedAt', o.now)
local ttl, outcome = o.idleTtl, 'created'
if d.size == 0 and not d.concatOf then
  redis.call('HSET', KEYS[1], 'state', partial and 'complete' or 'queued', 'completedAt', o.now)
  ttl, outcome = o.resultTtl, 'completed'
end
redis.call('HSET', KEYS[1], 'expiresAt', o.now + ttl * 1000)
redis.call('EXPIRE', KEYS[1], ttl)
publishEvent(KEYS[1], { type = 'state', state = outcome == 'completed' and (partial and 'complete' or 'queued') or 'receiving' })
return outcome
