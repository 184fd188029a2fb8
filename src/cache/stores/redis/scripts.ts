import { createHash } from 'node:crypto'

export interface LuaScript {
  readonly source: string
  readonly sha: string
}

function script(source: string): LuaScript {
  return Object.freeze({ source, sha: createHash('sha1').update(source).digest('hex') })
}

/**
 * Write. KEYS: value, lease. ARGV: version, stored value, pttl, lease token ('' for none), mode,
 * lease ttl, channel, message, createdAt.
 * - Against a live entry, 'fill' and 'set-versioned' are refused when the stored version is higher;
 *   'set' (an explicit set without a caller version) is the latest intent and always lands, so
 *   clock skew between instances cannot drop it.
 * - Against a tombstone (a delete), a 'fill' that started (createdAt) before the delete is refused:
 *   a time comparison, so it works whatever the caller's version scheme (row versions included).
 * - A fill holding a lease is refused when the lease was revoked ('~') or taken over.
 * Both set modes revoke a live lease so that fills started before them cannot write back.
 * Only the head of the stored value is read (GETRANGE), never the payload. Publishes on success.
 */
export const WRITE_SCRIPT = script(`
local lease = redis.call('GET', KEYS[2])
if ARGV[4] ~= '' and lease and lease ~= ARGV[4] then return 0 end
if ARGV[5] ~= 'set' then
  local head = redis.call('GETRANGE', KEYS[1], 0, 47)
  local nl = head and string.find(head, '\\n', 1, true)
  if nl then
    local stored = tonumber(string.sub(head, 1, nl - 1))
    if string.sub(head, nl + 1, nl + 1) == '~' then
      if ARGV[5] == 'fill' and stored and stored >= tonumber(ARGV[9]) then return 0 end
    elseif stored and stored > tonumber(ARGV[1]) then
      return 0
    end
  end
end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
if ARGV[5] ~= 'fill' then
  if lease and lease ~= '~' then redis.call('SET', KEYS[2], '~', 'PX', ARGV[6]) end
elseif ARGV[4] ~= '' and lease == ARGV[4] then
  redis.call('DEL', KEYS[2])
end
if ARGV[7] ~= '' then redis.call('PUBLISH', ARGV[7], ARGV[8]) end
return 1
`)

/**
 * Delete: leave a tombstone carrying the delete's time and revoke any lease, both for ARGV[2]
 * ms. KEYS: value, lease. ARGV: tombstone, pttl, channel, message.
 */
export const DELETE_SCRIPT = script(`
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('SET', KEYS[2], '~', 'PX', ARGV[2])
if ARGV[3] ~= '' then redis.call('PUBLISH', ARGV[3], ARGV[4]) end
return 1
`)

/**
 * Take the fill lease unless another live one exists (a revocation marker does not block).
 * KEYS: lease, value. ARGV: token, pttl. Returns { acquired, current stored value }.
 */
export const ACQUIRE_SCRIPT = script(`
local lease = redis.call('GET', KEYS[1])
if lease and lease ~= '~' then return { 0, redis.call('GET', KEYS[2]) } end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return { 1, redis.call('GET', KEYS[2]) }
`)

/** Release a lease still held by this token. KEYS: lease. ARGV: token. */
export const RELEASE_SCRIPT = script(`
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1
`)

/** Bump a namespace generation and publish it. KEYS: generation. ARGV: channel, message head, message tail. */
export const BUMP_SCRIPT = script(`
local generation = redis.call('INCR', KEYS[1])
if ARGV[1] ~= '' then redis.call('PUBLISH', ARGV[1], ARGV[2] .. generation .. ARGV[3]) end
return generation
`)
