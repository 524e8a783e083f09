--[[
  Records stored ranges of an upload and decides, in the same atomic step, whether they
  completed it. Exactly one call ever answers "completed" for an upload: that caller
  enqueues the merge. (Counting and deciding in two steps let two last chunks both see
  "complete" in servers before this one.) A range counts once its bytes are durable: the
  caller stores them first.

  KEYS[1] meta hash, KEYS[2] ranges hash (offset -> length, or length|location), KEYS[3] lock,
  KEYS[4] set of tus final uploads waiting for this (partial) upload, KEYS[5] the sweep's
  claim on this key's old bytes (claim-for-sweep.lua): no new upload starts while it holds
  o.declare          metadata that creates the upload when it does not exist (implicit
                     uploads: every request carries it); absent for explicitly created ones
  o.fingerprint      what every request must agree on (with declare)
  o.expectedUploadId the upload the caller believes it writes to (an instance's cache, or
                     the id in a tus URL): a record gone missing means the state was lost
  o.ranges           { {offset, length, fits, location, object}, ... }: fits is the rounding
                     mask; object the identity of the file written in place, if any
  o.appendAt         appends only: the offset must be where the stored bytes end (prefix)
  o.size             the size, declared now (deferred length)
  o.name             appends only: names an upload created unnamed (FilePond sends the name
                     with its chunks); a name other than the recorded one is a conflict
  o.fence, o.release a tus write lock's fencing token; release it when done
  o.now, o.idleTtl, o.resultTtl, o.cancelGraceMs, o.earlyMergeMinSize

  Returns JSON { outcome, uploadId, stored, ranges, prefix, size, total, earlyMerge,
                 startsEarlyMerge, created, partial, finals,
                 accepted = {1|0 per range}: 1 when the range recorded is this one (stored now, or
                 before by this very write), 0 when its bytes are not the upload's (discard them) }
  outcome: stored | duplicate | completed | enqueue | done | conflict | geometry | failed |
           cancelled | lost | missing | offset | fence | busy (the sweep is removing old bytes: retry)
           | replaced (the object holding the upload's bytes was replaced: they are gone, the upload failed)
]]
local meta, ranges, lock, finals, sweeping = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local now = o.now

local fields = { 'state', 'uploadId', 'fingerprint', 'roundings', 'stored', 'size', 'prefix',
  'earlyMerge', 'ranges', 'cancelledAt', 'pieceSize', 'partial', 'maxSize', 'object', 'name' }
local cur = redis.call('HMGET', meta, unpack(fields))
local state, uploadId = cur[1], cur[2]
local roundings, stored, size = tonumber(cur[4]) or 3, tonumber(cur[5]) or 0, tonumber(cur[6])
local prefix, earlyMerge, count = tonumber(cur[7]) or 0, cur[8] or '', tonumber(cur[9]) or 0
local pieceSize, partial, maxSize = tonumber(cur[11]), cur[12] == '1', tonumber(cur[13])
local object = cur[14] or ''
local recordedName = cur[15] or ''
local created, startsEarlyMerge, expiresAt = 0, 0, 0
local accepted, waitingFinals = {}, {}

local function reply(outcome)
  return cjson.encode({ outcome = outcome, uploadId = uploadId or '', stored = stored, ranges = count,
    prefix = prefix, size = size or -1, total = settledPieces(size, pieceSize, roundings),
    earlyMerge = earlyMerge, startsEarlyMerge = startsEarlyMerge, created = created,
    partial = partial and 1 or 0, accepted = accepted, state = state or '', finals = waitingFinals, expiresAt = expiresAt })
end

-- A cancelled upload keeps refusing data for a grace period, so requests already in flight
-- stop; after that its id is free for a new upload. A finished upload is replaced only by a
-- write that names it as the one it succeeds (a client that names files by name alone,
-- sending another file of that name): its result stays published, its record goes.
local replacing = false
if state == 'cancelled' and o.declare and now - (tonumber(cur[10]) or now) >= o.cancelGraceMs then
  redis.call('DEL', meta, ranges)
  state, replacing = nil, true
elseif (state == 'complete' or state == 'failed') and o.declare and o.declare.succeeds == uploadId then
  redis.call('DEL', meta, ranges)
  state, replacing = nil, true
end

if not state then
  if not replacing and o.expectedUploadId and o.expectedUploadId ~= '' then uploadId = nil; return reply('lost') end
  if not o.declare then return reply('missing') end
  if redis.call('EXISTS', sweeping) == 1 then return reply('busy') end
  local d = o.declare
  uploadId, state = d.uploadId, 'receiving'
  roundings, stored, prefix, count, earlyMerge = d.roundings or 3, 0, 0, 0, ''
  size, pieceSize, partial, maxSize, object = d.size, d.pieceSize, d.partial == true, d.maxSize, ''
  redis.call('DEL', ranges)
  redis.call('HSET', meta, 'uploadId', uploadId, 'state', state, 'fingerprint', o.fingerprint,
    'protocol', d.protocol, 'layout', d.layout, 'pieceSize', d.pieceSize or 0, 'roundings', roundings,
    'size', size and fmt(size) or '', 'maxSize', fmt(maxSize or 0), 'name', d.name, 'relativePath', d.relativePath,
    'type', d.type, 'metadata', d.metadata or '{}', 'partial', partial and '1' or '', 'succeeds', d.succeeds or '', 'identifier', d.identifier,
    'scope', d.scope, 'storageKey', d.storageKey, 'quotaSubject', d.quotaSubject, 'stored', 0, 'ranges', 0, 'prefix', 0,
    'createdAt', now, 'updatedAt', now)
  created = 1
elseif o.declare and cur[3] ~= o.fingerprint then
  return reply('conflict')
end

if o.fence and redis.call('GET', lock) ~= fmt(o.fence) then return reply('fence') end

if state ~= 'receiving' then
  -- "queued" until a worker starts the merge. The request that completed the upload adds
  -- the job; if it died first, the job is missing, so whoever sees "queued" adds it again,
  -- which is harmless: the merge job id is deterministic and BullMQ keeps one job.
  if state == 'queued' then return reply('enqueue') end
  if state == 'failed' or state == 'cancelled' then return reply(state) end
  return reply('done')
end

if o.appendAt and o.appendAt ~= prefix then return reply('offset') end
if o.name and recordedName ~= '' and recordedName ~= o.name then return reply('conflict') end
if o.size then
  if size and size ~= o.size then return reply('conflict') end
  if o.size < prefix or o.size < stored or (maxSize and maxSize > 0 and o.size > maxSize) then return reply('geometry') end
  size = o.size
  redis.call('HSET', meta, 'size', fmt(size))
end

-- Bytes written in place must land in the object the upload's earlier bytes are in: a data
-- file removed and created again by a later write would publish a file with a hole.
for _, r in ipairs(o.ranges) do
  if r.object and r.object ~= '' then
    if object == '' then
      object = r.object
      redis.call('HSET', meta, 'object', object)
    elseif r.object ~= object then
      state = 'failed'
      redis.call('HSET', meta, 'state', state, 'error', "the upload's stored bytes were lost (its data file was replaced)", 'finishedAt', now)
      redis.call('EXPIRE', meta, o.resultTtl)
      publishEvent(meta, { type = 'state', state = 'failed', error = "the upload's stored bytes were lost" })
      return reply('replaced')
    end
  end
end

local outcome = 'duplicate'
for i, r in ipairs(o.ranges) do
  accepted[i] = 0
  local mask = bit.band(roundings, r.fits)
  if mask == 0 then return reply('geometry') end
  if size and r.offset + r.length > size then return reply('geometry') end
  if not size and maxSize and maxSize > 0 and r.offset + r.length > maxSize then return reply('geometry') end
  -- An empty range holds nothing, unless it is the whole of an empty file.
  if r.length > 0 or (r.offset == 0 and size == 0) then
    local value = fmt(r.length)
    if r.location ~= '' then value = value .. '|' .. r.location end
    if redis.call('HSETNX', ranges, fmt(r.offset), value) == 1 then
      stored, count, outcome, accepted[i] = stored + r.length, count + 1, 'stored', 1
    else
      local recorded = redis.call('HGET', ranges, fmt(r.offset))
      if tonumber(string.match(recorded, '^%d+')) ~= r.length then return reply('geometry') end
      -- The very range recorded already (the same object): the caller must keep it, not discard it.
      if recorded == value then accepted[i] = 1 end
    end
  end
  roundings = mask
end
if size and stored > size then return reply('geometry') end

-- Where the contiguous bytes from the start end now: appends continue there, and an early
-- merge follows it.
while true do
  local value = redis.call('HGET', ranges, fmt(prefix))
  local length = value and tonumber(string.match(value, '^%d+')) or 0
  if length == 0 then break end
  prefix = prefix + length
end
redis.call('HSET', meta, 'roundings', roundings, 'stored', fmt(stored), 'ranges', count, 'prefix', fmt(prefix), 'updatedAt', now)
if o.name and recordedName == '' then redis.call('HSET', meta, 'name', o.name, 'relativePath', o.name) end

local ttl = o.idleTtl
if size and stored == size and count >= 1 then
  -- A tus partial upload is complete but never merged on its own: its final upload's merge
  -- reads it (concatenation). Every other upload is queued for its merge.
  state = partial and 'complete' or 'queued'
  redis.call('HSET', meta, 'state', state, 'completedAt', now)
  -- A partial waits for its final upload no longer than any idle upload (attach-final.lua
  -- keeps it longer once a final names it).
  outcome, ttl = 'completed', partial and o.idleTtl or o.resultTtl
  if partial then waitingFinals = redis.call('SMEMBERS', finals) end
elseif outcome == 'stored' and earlyMerge == '' and o.earlyMergeMinSize > 0 and not partial
    and size and size >= o.earlyMergeMinSize and count >= 2 then
  -- A large upload's merge starts with its second stored range (the first request's second
  -- round trip is its quota), following the contiguous bytes while the rest arrive.
  redis.call('HSET', meta, 'earlyMerge', 'started')
  earlyMerge, startsEarlyMerge = 'started', 1
end
if o.release then redis.call('DEL', lock) end
if outcome ~= 'duplicate' then
  publishEvent(meta, { type = 'chunk', state = outcome == 'completed' and state or 'receiving',
    received = count, total = settledPieces(size, pieceSize, roundings), storedBytes = stored, size = size or -1 })
end
expiresAt = now + ttl * 1000
redis.call('HSET', meta, 'expiresAt', expiresAt)
redis.call('EXPIRE', meta, ttl)
redis.call('EXPIRE', ranges, ttl)
return reply(outcome)
