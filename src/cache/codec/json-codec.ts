import type { Codec } from './codec.js'

const PLAIN = 0x70 // 'p'
const TAGGED = 0x74 // 't'
const BYTES_TAG = '$hpb'
const ESCAPED_KEY = /^\$+hp/
const UNESCAPE_KEY = /^\$\$+hp/
const MAX_SCAN_DEPTH = 64

function containsBytes(value: unknown, depth: number): boolean {
  if (value === null || typeof value !== 'object') return false
  if (value instanceof Uint8Array) return true
  if (depth > MAX_SCAN_DEPTH) return false
  if (Array.isArray(value)) {
    for (const item of value) if (containsBytes(item, depth + 1)) return true
    return false
  }
  for (const key in value) {
    if (containsBytes((value as Record<string, unknown>)[key], depth + 1)) return true
  }
  return false
}

function isTagObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false
  const keys = Object.keys(value)
  return keys.length === 1 && keys[0] === BYTES_TAG
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return (
    value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Uint8Array)
  )
}

/** In tagged mode a user key `$hp...` (any number of leading `$`) gains one `$`, so no user object is a tag. */
function escapeKeys(value: unknown): unknown {
  if (!isPlainObject(value)) return value
  if (!Object.keys(value).some((key) => ESCAPED_KEY.test(key))) return value
  const escaped: Record<string, unknown> = {}
  for (const [key, item] of Object.entries(value)) escaped[ESCAPED_KEY.test(key) ? `$${key}` : key] = item
  return escaped
}

function unescapeKeys(value: unknown): unknown {
  if (!isPlainObject(value)) return value
  if (!Object.keys(value).some((key) => UNESCAPE_KEY.test(key))) return value
  const out: Record<string, unknown> = {}
  for (const [key, item] of Object.entries(value)) out[UNESCAPE_KEY.test(key) ? key.slice(1) : key] = item
  return out
}

/**
 * JSON codec. Values holding `Buffer`/`Uint8Array` anywhere are written in a tagged form
 * (`{"$hpb":"<base64>"}`; user keys starting with `$hp` are escaped) and come back as `Buffer`;
 * values without bytes are plain JSON and decode with a bare `JSON.parse`.
 *
 * @example
 * createCache({ l2: redisStore({ url, codec: jsonCodec() }) })
 */
export function jsonCodec(): Codec {
  return Object.freeze({
    name: 'json',
    id: 'J',
    encode(value: unknown): Buffer {
      if (!containsBytes(value, 0)) {
        const text = JSON.stringify(value)
        const out = Buffer.allocUnsafe(1 + Buffer.byteLength(text))
        out[0] = PLAIN
        out.write(text, 1)
        return out
      }
      const text = JSON.stringify(
        value,
        function (this: Record<string, unknown>, key: string, replaced: unknown) {
          const raw = this[key]
          if (raw instanceof Uint8Array) {
            return { [BYTES_TAG]: Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('base64') }
          }
          return escapeKeys(replaced)
        },
      )
      const out = Buffer.allocUnsafe(1 + Buffer.byteLength(text))
      out[0] = TAGGED
      out.write(text, 1)
      return out
    },
    decode(bytes: Buffer): unknown {
      const text = bytes.toString('utf8', 1)
      if (bytes[0] !== TAGGED) return JSON.parse(text)
      return JSON.parse(text, (_key, value: unknown) => {
        if (isTagObject(value) && typeof value[BYTES_TAG] === 'string')
          return Buffer.from(value[BYTES_TAG], 'base64')
        return unescapeKeys(value)
      })
    },
  })
}
