--[[
  What an early merge needs to go on: the upload's state and the recorded files of the
  next chunks. Read only.
  KEYS[1] upload meta hash, KEYS[2] chunk map
  ARGV 1 upload id, 2 first chunk number, 3 how many chunk numbers
  Returns { state | 'missing' | 'stale', file of each chunk number or false }
]]
local current = redis.call('HMGET', KEYS[1], 'state', 'uploadId')
if not current[1] then return { 'missing' } end
if current[2] ~= ARGV[1] then return { 'stale' } end
local first = tonumber(ARGV[2])
local numbers = {}
for i = 1, tonumber(ARGV[3]) do numbers[i] = first + i - 1 end
local files = redis.call('HMGET', KEYS[2], unpack(numbers))
table.insert(files, 1, current[1])
return files
