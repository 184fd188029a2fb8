import { createHash } from 'node:crypto'

export interface StrategyScript {
  readonly source: string
  readonly sha: string
}

function script(source: string): StrategyScript {
  return Object.freeze({ source, sha: createHash('sha1').update(source).digest('hex') })
}

const PENDING_VERSION = `
local function pending_version(raw)
  if not raw then return nil end
  local bar = string.find(raw, '|', 1, true)
  return tonumber(string.sub(raw, 1, bar - 1))
end
`

/**
 * Accept a write atomically: refuse it when the stream holds `maxPending` entries, assign its
 * version, record it in the pending-value hash (read-your-writes) and append it to the stream.
 * KEYS: stream, pending hash, version hash. ARGV: key, op ('u' | 'd'), body, version, maxPending,
 * id (JSON), mode, update ('1': refuse when the pending write of the key is a delete).
 * Modes: 'next' assigns max(ARGV version, highest version ever given to the key) + 1; 'exact' keeps
 * the given version and refuses one not above the highest; 'replay' (dead letters) keeps it and
 * refuses one below the highest.
 * Returns {1, version, stream id} | {-1, pending} (full) | {0, highest version} (superseded) |
 * {-2, version of the delete} (an update of a key whose pending write deletes it).
 */
export const WRITE_SCRIPT = script(`
if ARGV[8] == '1' then
  local current = redis.call('HGET', KEYS[2], ARGV[1])
  if current then
    local bar = string.find(current, '|', 1, true)
    if string.sub(current, bar + 1, bar + 1) == 'd' then return {-2, string.sub(current, 1, bar - 1)} end
  end
end
local pending = redis.call('XLEN', KEYS[1])
if pending >= tonumber(ARGV[5]) then return {-1, pending} end
local highest = tonumber(redis.call('HGET', KEYS[3], ARGV[1]) or '0')
local given = tonumber(ARGV[4])
local version
if ARGV[7] == 'next' then
  version = math.max(highest, given) + 1
elseif ARGV[7] == 'exact' then
  if given <= highest then return {0, highest} end
  version = given
else
  if given < highest then return {0, highest} end
  version = given
end
local v = string.format('%d', version)
redis.call('HSET', KEYS[3], ARGV[1], v)
redis.call('HSET', KEYS[2], ARGV[1], v .. '|' .. ARGV[2] .. '|' .. ARGV[3])
local id = redis.call('XADD', KEYS[1], '*', 'k', ARGV[1], 'o', ARGV[2], 'v', v, 'i', ARGV[6], 'b', ARGV[3])
return {1, v, id}
`)

/**
 * After the database commit: acknowledge and delete the stream entries, then clear each key's
 * pending value unless a newer write replaced it meanwhile.
 * KEYS: stream, pending hash. ARGV: group, n, n stream ids, then (key, version) pairs.
 * Returns the number of pending values cleared.
 */
export const ACK_SCRIPT = script(`${PENDING_VERSION}
local n = tonumber(ARGV[2])
if n > 0 then
  local ids = {}
  for i = 1, n do ids[i] = ARGV[2 + i] end
  redis.call('XACK', KEYS[1], ARGV[1], unpack(ids))
  redis.call('XDEL', KEYS[1], unpack(ids))
end
local cleared = 0
for i = 3 + n, #ARGV, 2 do
  if pending_version(redis.call('HGET', KEYS[2], ARGV[i])) == tonumber(ARGV[i + 1]) then
    redis.call('HDEL', KEYS[2], ARGV[i])
    cleared = cleared + 1
  end
end
return cleared
`)

/**
 * Move a write that keeps failing to the dead-letter stream, atomically with its acknowledgement.
 * KEYS: stream, pending hash, dead-letter stream. ARGV: group, stream id, key, op, version, id
 * (JSON), body, error, attempts, dead-letter stream max length.
 */
export const DEAD_LETTER_SCRIPT = script(`${PENDING_VERSION}
redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[10], '*', 'k', ARGV[3], 'o', ARGV[4], 'v', ARGV[5],
  'i', ARGV[6], 'b', ARGV[7], 'e', ARGV[8], 'n', ARGV[9], 's', ARGV[2])
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
if pending_version(redis.call('HGET', KEYS[2], ARGV[3])) == tonumber(ARGV[5]) then
  redis.call('HDEL', KEYS[2], ARGV[3])
end
return 1
`)
