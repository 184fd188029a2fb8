import { hash } from 'node:crypto'
import { CacheCodecError } from '../errors.js'
import type { Codec } from './codec/codec.js'
import type { CacheEntry } from './types.js'

const NEWLINE = 0x0a
const FLAG_UNDEFINED = 0x55 // 'U'
const FLAG_BYTES = 0x42 // 'B'
const TOMBSTONE_MARK = '~'

/** What the shared tier holds for a key: an entry, or a tombstone left by a delete (its version only). */
export type StoredValue = CacheEntry | { readonly tombstone: true; readonly version: number }

export function isTombstone(
  value: StoredValue,
): value is { readonly tombstone: true; readonly version: number } {
  return (value as { tombstone?: boolean }).tombstone === true
}

/**
 * Encode a value's payload: `U` for undefined (negative caching), `B` + raw bytes for a top-level
 * `Uint8Array`, otherwise the codec's id + its bytes.
 */
export function encodePayload(value: unknown, codec: Codec): Buffer {
  if (value === undefined) return Buffer.from([FLAG_UNDEFINED])
  if (value instanceof Uint8Array) {
    const out = Buffer.allocUnsafe(value.byteLength + 1)
    out[0] = FLAG_BYTES
    out.set(value, 1)
    return out
  }
  let body: Buffer
  try {
    body = codec.encode(value)
  } catch (error) {
    throw new CacheCodecError(codec.name, 'cannot encode the value', error)
  }
  const out = Buffer.allocUnsafe(body.byteLength + 1)
  out[0] = codec.id.charCodeAt(0)
  out.set(body, 1)
  return out
}

export function decodePayload(payload: Buffer, codecs: ReadonlyMap<number, Codec>): unknown {
  const flag = payload[0]
  if (flag === FLAG_UNDEFINED) return undefined
  if (flag === FLAG_BYTES) return payload.subarray(1)
  const codec = flag === undefined ? undefined : codecs.get(flag)
  if (codec === undefined) {
    throw new CacheCodecError(
      'unknown',
      `no codec with id ${JSON.stringify(String.fromCharCode(flag ?? 0))} is configured`,
    )
  }
  try {
    return codec.decode(payload.subarray(1))
  } catch (error) {
    throw new CacheCodecError(codec.name, 'cannot decode a stored value', error)
  }
}

/** A strong etag derived from the encoded payload. */
export function etagOf(payload: Buffer): string {
  return `"${hash('sha1', payload, 'base64url')}"`
}

/**
 * Shared-tier layout, three text lines then the payload:
 * `<version>\n<createdAt> <freshUntil> <staleUntil> <etag>\n<tags as JSON, empty when none>\n<payload>`.
 * The version comes first so that the compare-and-set Lua script reads it without decoding
 * anything, and the rest parses with a few `indexOf` calls (no JSON for untagged entries).
 * A tombstone is `<version>\n~`.
 */
export function encodeStored(entry: CacheEntry, payload: Buffer): Buffer {
  const tags = entry.tags.length === 0 ? '' : JSON.stringify(entry.tags)
  const head = `${entry.version}\n${entry.createdAt} ${entry.freshUntil} ${entry.staleUntil} ${entry.etag}\n${tags}\n`
  const headLength = Buffer.byteLength(head)
  const out = Buffer.allocUnsafe(headLength + payload.byteLength)
  out.write(head, 0)
  out.set(payload, headLength)
  return out
}

export function encodeTombstone(version: number): string {
  return `${version}\n${TOMBSTONE_MARK}`
}

const NO_TAGS: readonly string[] = Object.freeze([])
const SPACE = 0x20
const DOT = 0x2e
const TOMBSTONE_BYTE = TOMBSTONE_MARK.charCodeAt(0)
/** Digits whose value and power of ten are exact doubles (below 2^53). */
const MAX_EXACT_DIGITS = 15

function corrupt(what: string): CacheCodecError {
  return new CacheCodecError('entry', `a stored value has no ${what}`)
}

type Latin1Buffer = Buffer & { latin1Slice?: (start: number, end: number) => string }

/** ASCII bytes as a string (Buffer#latin1Slice skips toString's argument handling). */
function latin1(raw: Latin1Buffer, start: number, end: number): string {
  return raw.latin1Slice === undefined ? raw.toString('latin1', start, end) : raw.latin1Slice(start, end)
}

/**
 * A number written by `String(number)`, read from its ASCII bytes, or NaN when it cannot be read
 * exactly this way. Up to 15 digits with at most one dot, `digits / 10^k` is exact (both are exact
 * doubles and the division rounds once, like `Number()`); longer numbers, signs and exponents are
 * left to `Number()`.
 */
function exactNumberAt(raw: Buffer, start: number, end: number): number {
  if (end - start > MAX_EXACT_DIGITS + 1) return Number.NaN
  let value = 0
  let scale = 1
  let digits = 0
  let dot = false
  for (let i = start; i < end; i++) {
    const byte = raw[i] as number
    if (byte >= 0x30 && byte <= 0x39) {
      value = value * 10 + (byte - 0x30)
      if (dot) scale *= 10
      digits++
    } else if (byte === DOT && !dot) {
      dot = true
    } else {
      return Number.NaN
    }
  }
  return digits === 0 || digits > MAX_EXACT_DIGITS ? Number.NaN : value / scale
}

function sameBytes(raw: Buffer, start: number, end: number, otherStart: number, otherEnd: number): boolean {
  if (end - start !== otherEnd - otherStart) return false
  for (let i = 0; i < end - start; i++) if (raw[start + i] !== raw[otherStart + i]) return false
  return true
}

/** Decode a shared-tier value; also returns the payload size for L1 accounting. */
export function decodeStored(
  raw: Buffer,
  codecs: ReadonlyMap<number, Codec>,
): { value: StoredValue; payloadBytes: number } {
  const first = raw.indexOf(NEWLINE)
  if (first <= 0) throw corrupt('version header')
  if (raw.length === first + 2 && raw[first + 1] === TOMBSTONE_BYTE) {
    return { value: { tombstone: true, version: Number(latin1(raw, 0, first)) }, payloadBytes: 0 }
  }
  const second = raw.indexOf(NEWLINE, first + 1)
  // Untagged entries (the common case) have an empty tags line: no search for its end.
  const third = second < 0 ? -1 : raw[second + 1] === NEWLINE ? second + 1 : raw.indexOf(NEWLINE, second + 1)
  if (third < 0) throw corrupt('metadata header')
  const s1 = raw.indexOf(SPACE, first + 1)
  const s2 = s1 < 0 || s1 > second ? -1 : raw.indexOf(SPACE, s1 + 1)
  const s3 = s2 < 0 || s2 > second ? -1 : raw.indexOf(SPACE, s2 + 1)
  if (s3 < 0 || s3 > second) throw corrupt('metadata header')
  // Whole-millisecond times are read from the bytes, others from one header string; a time
  // written twice (createdAt = version without a caller version, staleUntil = freshUntil without
  // grace) is read once.
  let version = exactNumberAt(raw, 0, first)
  const createdAtIsVersion = sameBytes(raw, 0, first, first + 1, s1)
  let createdAt = createdAtIsVersion ? version : exactNumberAt(raw, first + 1, s1)
  let freshUntil = exactNumberAt(raw, s1 + 1, s2)
  const staleIsFresh = sameBytes(raw, s1 + 1, s2, s2 + 1, s3)
  let staleUntil = staleIsFresh ? freshUntil : exactNumberAt(raw, s2 + 1, s3)
  let etag: string
  if (Number.isNaN(version + createdAt + freshUntil + staleUntil)) {
    const head = latin1(raw, 0, second)
    etag = head.slice(s3 + 1)
    if (Number.isNaN(version)) version = +head.slice(0, first)
    if (Number.isNaN(createdAt)) createdAt = createdAtIsVersion ? version : +head.slice(first + 1, s1)
    if (Number.isNaN(freshUntil)) freshUntil = +head.slice(s1 + 1, s2)
    if (Number.isNaN(staleUntil)) staleUntil = staleIsFresh ? freshUntil : +head.slice(s2 + 1, s3)
  } else {
    etag = latin1(raw, s3 + 1, second)
  }
  const tags =
    third === second + 1 ? NO_TAGS : (JSON.parse(raw.toString('utf8', second + 1, third)) as string[])
  const payload = raw.subarray(third + 1)
  return {
    value: {
      value: decodePayload(payload, codecs),
      version,
      createdAt,
      freshUntil,
      staleUntil,
      etag,
      tags,
    },
    payloadBytes: payload.byteLength,
  }
}

/**
 * An entity tag as stored: quoted printable ASCII without spaces (the header is ASCII). Computed
 * etags are strong; a given one may be weak (`W/"..."`) and is kept as is.
 */
const ETAG_PATTERN = /^(W\/)?"[\x21\x23-\x7e]*"$/

export function isValidEtag(etag: string): boolean {
  return ETAG_PATTERN.test(etag)
}

const MAX_ESTIMATE_DEPTH = 32

/**
 * A cheap estimate of a value's in-memory size, used for the L1 byte budget when no encoded
 * payload is at hand. It walks the value once and never serializes it.
 */
export function estimateSize(value: unknown, depth = 0): number {
  switch (typeof value) {
    case 'string':
      return 16 + value.length * 2
    case 'number':
    case 'boolean':
    case 'undefined':
      return 8
    case 'bigint':
      return 16
    case 'object': {
      if (value === null) return 8
      if (value instanceof Uint8Array) return 64 + value.byteLength
      if (depth > MAX_ESTIMATE_DEPTH) return 64
      if (Array.isArray(value)) {
        let size = 32 + value.length * 8
        for (const item of value) size += estimateSize(item, depth + 1)
        return size
      }
      let size = 32
      for (const key in value)
        size += 24 + key.length * 2 + estimateSize((value as Record<string, unknown>)[key], depth + 1)
      return size
    }
    default:
      return 16
  }
}
