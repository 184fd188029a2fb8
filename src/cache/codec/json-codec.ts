import type { Codec } from './codec.js'

const PLAIN = 0x70 // 'p'
const TAGGED = 0x74 // 't'
const BYTES_TAG = '$hpb'
const ESCAPE_TAG = '$hpo'
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

function isTagObject(value: unknown, tag: string): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false
  const keys = Object.keys(value)
  return keys.length === 1 && keys[0] === tag
}

/**
 * JSON codec. Values holding `Buffer`/`Uint8Array` anywhere are written in a tagged form
 * (`{"$hpb":"<base64>"}`, user objects that look like a tag are escaped) and come back as `Buffer`;
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
      const wrappers = new WeakSet<object>()
      const text = JSON.stringify(
        value,
        function (this: Record<string, unknown>, key: string, replaced: unknown) {
          const raw = this[key]
          if (raw instanceof Uint8Array) {
            return { [BYTES_TAG]: Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('base64') }
          }
          if (wrappers.has(this)) return replaced
          if (isTagObject(replaced, BYTES_TAG) || isTagObject(replaced, ESCAPE_TAG)) {
            const wrapper = { [ESCAPE_TAG]: replaced }
            wrappers.add(wrapper)
            return wrapper
          }
          return replaced
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
        if (isTagObject(value, BYTES_TAG) && typeof value[BYTES_TAG] === 'string') {
          return Buffer.from(value[BYTES_TAG], 'base64')
        }
        if (isTagObject(value, ESCAPE_TAG)) return value[ESCAPE_TAG]
        return value
      })
    },
  })
}
