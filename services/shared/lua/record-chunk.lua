--[[
  Records one stored chunk and decides, in the same atomic step, whether it completed
  the upload. Exactly one call ever returns "completed" for an upload: that caller
  enqueues the merge. (Counting and deciding in separate steps let two last chunks
  both see "complete" in servers before this one: ../shared/LESSONS.md.)

  KEYS[1] upload meta hash, KEYS[2] chunk map (chunk number -> chunk file name)
  ARGV  1 chunk number      2 chunk file name     3 modes this chunk fits (bit mask)
        4 fingerprint       5 candidate upload id 6 now (ms)
        7 idle TTL (s)      8 chunk count, floor  9 chunk count, ceil
        10..16 metadata kept from the first chunk: totalSize, chunkSize, filename,
               relativePath, type, identifier, scope
        17 TTL (s) once complete: long enough for the merge to wait out a worker outage
        18 early merge minimum size (bytes; 0: never): an upload at least this large gets
           its merge job with its first chunk, to append chunks while the rest arrive

  Returns { outcome, upload id, chunks received, chunk count or -1 while unsettled,
            early merge: '' | 'started' | 'parked', 1 when this call started the early merge }
  outcome: stored | duplicate | completed | enqueue | done | conflict | geometry | failed | cancelled
]]
local meta, chunks = KEYS[1], KEYS[2]
local chunkNumber, chunkFile, fits = ARGV[1], ARGV[2], tonumber(ARGV[3])
local fingerprint, now, ttl = ARGV[4], ARGV[6], tonumber(ARGV[7])

local current = redis.call('HMGET', meta, 'state', 'uploadId', 'fingerprint', 'modeMask', 'received', 'earlyMerge')
local state, uploadId = current[1], current[2]
local earlyMerge = current[6] or ''
local function reply(outcome, received, total, startsEarlyMerge)
  return { outcome, uploadId, received, total, earlyMerge, startsEarlyMerge or 0 }
end

if not state then
  uploadId = ARGV[5]
  state = 'receiving'
  redis.call('HSET', meta,
    'uploadId', uploadId, 'state', state, 'fingerprint', fingerprint,
    'modeMask', 3, 'received', 0, 'floorCount', ARGV[8], 'ceilCount', ARGV[9],
    'totalSize', ARGV[10], 'chunkSize', ARGV[11], 'filename', ARGV[12],
    'relativePath', ARGV[13], 'type', ARGV[14], 'identifier', ARGV[15],
    'scope', ARGV[16], 'createdAt', now, 'updatedAt', now)
  current[4], current[5] = '3', '0'
elseif current[3] ~= fingerprint then
  return reply('conflict', tonumber(current[5]), -1)
end

if state ~= 'receiving' then
  -- "queued" until a worker starts the merge. The request that completed the upload adds
  -- the job; if it died first, the job is missing, so whoever sees "queued" adds it again,
  -- which is harmless because the merge job id is deterministic (BullMQ keeps one job;
  -- the id differs once an early merge was parked, so it says which job to add).
  if state == 'queued' then return reply('enqueue', tonumber(current[5]), -1) end
  if state == 'failed' or state == 'cancelled' then return reply(state, tonumber(current[5]), -1) end
  return reply('done', tonumber(current[5]), -1)
end

local mask = bit.band(tonumber(current[4]), fits)
if mask == 0 then return reply('geometry', tonumber(current[5]), -1) end

local outcome = 'duplicate'
local received = tonumber(current[5])
if redis.call('HSETNX', chunks, chunkNumber, chunkFile) == 1 then
  outcome = 'stored'
  received = redis.call('HINCRBY', meta, 'received', 1)
end
redis.call('HSET', meta, 'modeMask', mask, 'updatedAt', now)

local total = -1
if mask == 1 then total = tonumber(ARGV[8])
elseif mask == 2 then total = tonumber(ARGV[9])
elseif ARGV[8] == ARGV[9] then total = tonumber(ARGV[8]) end

if total > 0 and received == total then
  redis.call('HSET', meta, 'state', 'queued', 'completedAt', now)
  outcome = 'completed'
  ttl = tonumber(ARGV[17])
end
-- The merge of a large upload starts with its first stored chunk (one job per upload:
-- the completing chunk's enqueue then finds the job there already).
local startsEarlyMerge = 0
local earlyMin = tonumber(ARGV[18])
if outcome == 'stored' and earlyMerge == '' and earlyMin > 0 and tonumber(ARGV[10]) >= earlyMin
    and tonumber(ARGV[8]) > 1 then
  redis.call('HSET', meta, 'earlyMerge', 'started')
  earlyMerge, startsEarlyMerge = 'started', 1
end
if outcome ~= 'duplicate' then
  publishEvent(meta, { type = 'chunk', state = outcome == 'completed' and 'queued' or 'receiving',
    chunkNumber = tonumber(chunkNumber), received = received, total = total })
end

redis.call('EXPIRE', meta, ttl)
redis.call('EXPIRE', chunks, ttl)
return reply(outcome, received, total, startsEarlyMerge)
