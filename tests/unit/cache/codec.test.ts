import { describe, expect, it } from 'vitest'
import { jsonCodec, msgpackCodec } from '../../../src/cache/index.js'
import { decodeStored, encodePayload, encodeStored, etagOf } from '../../../src/cache/entry.js'
import type { CacheEntry } from '../../../src/cache/types.js'

const values: unknown[] = [
  { id: 1, name: 'Ann', tags: ['a', 'b'], nested: { ok: true, n: null } },
  [1, 'two', { three: 3 }],
  'plain string',
  0,
  null,
  Buffer.from('body bytes'),
  new Uint8Array([0, 1, 2, 255]),
  { body: Buffer.from('gzip'), variants: [{ encoding: 'br', bytes: new Uint8Array([9, 8]) }] },
  { $hpb: 'looks like a tag', other: Buffer.from('x') },
  { $hpo: { $hpb: 'nested lookalike' }, b: new Uint8Array([1]) },
]

function normalise(value: unknown): unknown {
  return JSON.parse(
    JSON.stringify(value, function (this: Record<string, unknown>, key: string, v: unknown) {
      const raw = this[key]
      return raw instanceof Uint8Array ? { bytes: [...raw] } : v
    }),
  )
}

describe.each([
  ['json', jsonCodec()],
  ['msgpack', msgpackCodec()],
])('%s codec', (_name, codec) => {
  const codecs = new Map([[codec.id.charCodeAt(0), codec]])

  it.each(values.map((value, index) => [index, value]))(
    'round-trips value #%i, bytes as Buffer',
    (_i, value) => {
      const payload = encodePayload(value, codec)
      const entry: CacheEntry = {
        value,
        version: 5.5,
        createdAt: 1,
        freshUntil: 2,
        staleUntil: 3,
        tags: ['t:1', 'ü'],
        etag: etagOf(payload),
      }
      const decoded = decodeStored(encodeStored(entry, payload), codecs).value as CacheEntry
      expect(normalise(decoded.value)).toEqual(normalise(value))
      if (value instanceof Uint8Array) expect(Buffer.isBuffer(decoded.value)).toBe(true)
      expect({ ...decoded, value: undefined }).toEqual({ ...entry, value: undefined })
    },
  )

  it('round-trips undefined (negative caching)', () => {
    const payload = encodePayload(undefined, codec)
    const stored = encodeStored(
      { value: undefined, version: 1, createdAt: 1, freshUntil: 2, staleUntil: 2, tags: [], etag: '"x"' },
      payload,
    )
    expect((decodeStored(stored, codecs).value as CacheEntry).value).toBeUndefined()
  })
})

it('etags are strong, quoted and change with the value', () => {
  const codec = jsonCodec()
  const a = etagOf(encodePayload({ a: 1 }, codec))
  expect(a).toMatch(/^"[A-Za-z0-9_-]+"$/)
  expect(etagOf(encodePayload({ a: 1 }, codec))).toBe(a)
  expect(etagOf(encodePayload({ a: 2 }, codec))).not.toBe(a)
})

it('stored times decode to exactly the numbers written (whole ms, fractions, 16-17 digits, repeats, signs)', () => {
  const codec = msgpackCodec()
  const codecs = new Map([[codec.id.charCodeAt(0), codec]])
  const payload = encodePayload({ a: 1 }, codec)
  const now = 1_795_622_464_136
  const times = [
    now,
    now + 0.001,
    now + 0.003,
    now + 55_123.456789,
    0.1 + 0.2,
    123_456_789_012_345,
    2 ** 53 + 2,
    -42.5,
    1e21,
    5e-7,
    7,
  ]
  for (const version of times) {
    for (const createdAt of [version, now + 0.002]) {
      for (const freshUntil of times) {
        for (const staleUntil of [freshUntil, freshUntil + 0.5, now]) {
          const entry: CacheEntry = {
            value: { a: 1 },
            version,
            createdAt,
            freshUntil,
            staleUntil,
            tags: [],
            etag: '"e"',
          }
          const decoded = decodeStored(encodeStored(entry, payload), codecs).value as CacheEntry
          expect([
            decoded.version,
            decoded.createdAt,
            decoded.freshUntil,
            decoded.staleUntil,
            decoded.etag,
          ]).toEqual([version, createdAt, freshUntil, staleUntil, '"e"'])
        }
      }
    }
  }
})
