import { describe, expect, it } from 'vitest'
import { CacheKeyError, InvalidOptionError } from '../../../src/errors.js'
import { createCache } from '../../../src/cache/index.js'
import { assertKey, encodeKeyComponent, keyTemplate } from '../../../src/cache/keys.js'

describe('key components', () => {
  const hostile = [
    '',
    ':',
    '::',
    '*',
    '{',
    '}',
    '{x}',
    '\0',
    'a:b',
    'a%3Ab',
    '~',
    '~h',
    'x'.repeat(129),
    'x'.repeat(5000),
    'é',
    '🙂',
    ' ',
    '%',
    'a*b',
  ]

  it('never collide: distinct inputs give distinct encodings', () => {
    const encoded = hostile.map((part) => encodeKeyComponent(part))
    expect(new Set(encoded).size).toBe(hostile.length)
  })

  it('never contain a separator, a glob, a hash-tag brace or NUL', () => {
    for (const part of hostile) {
      const encoded = encodeKeyComponent(part)
      expect(encoded).not.toMatch(/[:*{}\0]/)
      expect(encoded.length).toBeGreaterThan(0)
      expect(encoded.length).toBeLessThanOrEqual(128)
    }
  })

  it('keeps simple parts readable', () => {
    expect(encodeKeyComponent(42)).toBe('42')
    expect(encodeKeyComponent('abc-1.2_x')).toBe('abc-1.2_x')
  })

  it('templates keep each part in its slot: no two parameter sets collide', () => {
    const listKey = keyTemplate<'page' | 'size'>('users:list:{page}:{size}')
    const pairs = [
      ['1:2', '3'],
      ['1', '2:3'],
      ['', '1'],
      ['1', ''],
      ['{a', 'b}'],
      ['\0', '\0\0'],
    ]
    const keys = pairs.map(([page, size]) => listKey({ page, size }))
    expect(new Set(keys).size).toBe(pairs.length)
    for (const key of keys) expect(key.split(':')).toHaveLength(4)
  })

  it('hashed slots ignore object key order and differ by content', () => {
    const searchKey = keyTemplate<'q'>('search:users:{q#}')
    expect(searchKey({ q: { text: 'ann', page: 1 } })).toBe(searchKey({ q: { page: 1, text: 'ann' } }))
    expect(searchKey({ q: { text: 'ann', page: 1 } })).not.toBe(searchKey({ q: { text: 'ann', page: 2 } }))
    expect(searchKey({ q: 'x'.repeat(10_000) }).length).toBeLessThan(80)
  })

  it('rejects a missing or non-scalar slot value and a bad template', () => {
    const userKey = keyTemplate<'id'>('users:{id}')
    expect(() => userKey({} as { id: string })).toThrow(CacheKeyError)
    expect(() => userKey({ id: { a: 1 } })).toThrow(CacheKeyError)
    expect(() => keyTemplate('users:{id')).toThrow(InvalidOptionError)
  })
})

describe('raw keys', () => {
  it('rejects empty, NUL, too long and non-string keys with a clear error', () => {
    expect(() => assertKey('')).toThrow(/must not be empty/)
    expect(() => assertKey('a\0b')).toThrow(/NUL/)
    expect(() => assertKey('x'.repeat(1025))).toThrow(/maxKeyLength/)
    expect(() => assertKey(42)).toThrow(CacheKeyError)
  })

  it('the cache refuses invalid keys on every entry point', async () => {
    const cache = createCache()
    await expect(cache.get('')).rejects.toThrow(CacheKeyError)
    await expect(cache.set('a\0b', 1)).rejects.toThrow(CacheKeyError)
    await expect(cache.getOrSet('', () => 1)).rejects.toThrow(CacheKeyError)
    await expect(cache.deleteMany(['ok', ''])).rejects.toThrow(CacheKeyError)
    expect(() => cache.namespace('a:b')).toThrow(InvalidOptionError)
    await cache.close()
  })
})
