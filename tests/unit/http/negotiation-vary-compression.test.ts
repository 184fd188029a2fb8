import zlib from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { negotiateEncoding, negotiateFormat } from '../../../src/http/negotiation.js'
import { mergeVary, parseVary, varyKey } from '../../../src/http/vary.js'
import { compressVariants, isCompressible } from '../../../src/http/compression.js'

const all = ['br', 'gzip', 'identity'] as const

describe('negotiateEncoding', () => {
  it.each([
    [undefined, 'identity'],
    ['', 'identity'],
    ['gzip', 'gzip'],
    ['gzip, deflate, br', 'br'],
    ['gzip;q=1, br;q=0.5', 'gzip'],
    ['br;q=0, gzip;q=0', 'identity'],
    ['*', 'br'],
    ['identity', 'identity'],
    ['x-gzip', 'gzip'],
    ['deflate', 'identity'],
  ] as const)('%s → %s', (header, expected) => {
    expect(negotiateEncoding(header, all)).toBe(expected)
  })

  it('only picks what is available', () => {
    expect(negotiateEncoding('br, gzip', ['gzip', 'identity'])).toBe('gzip')
    expect(negotiateEncoding('br, gzip', ['identity'])).toBe('identity')
  })
})

describe('negotiateFormat', () => {
  it.each([
    [undefined, 'json'],
    ['application/json', 'json'],
    ['*/*', 'json'],
    ['application/msgpack', 'msgpack'],
    ['application/x-msgpack', 'msgpack'],
    ['application/json, application/msgpack;q=0.5', 'json'],
    ['application/msgpack, application/json;q=0.5', 'msgpack'],
    ['application/msgpack, */*', 'msgpack'],
  ] as const)('%s → %s', (header, expected) => {
    expect(negotiateFormat(header)).toBe(expected)
  })
})

describe('Vary', () => {
  it('parses, merges and keeps * absorbing', () => {
    expect(parseVary('Accept-Encoding, accept ,ACCEPT')).toEqual(['accept-encoding', 'accept'])
    expect(mergeVary(['accept-language'], 'Accept-Encoding', 'accept-language')).toBe(
      'Accept-Language, Accept-Encoding',
    )
    expect(mergeVary('accept', '*')).toBe('*')
  })

  it('builds a key part that separates values and cannot be confused', () => {
    expect(varyKey({ 'accept-language': 'en' }, ['accept-language'])).not.toBe(
      varyKey({ 'accept-language': 'fr' }, ['accept-language']),
    )
    expect(varyKey({ a: 'x&b=y' }, ['a', 'b'])).not.toBe(varyKey({ a: 'x', b: 'y' }, ['a', 'b']))
    expect(varyKey({}, [])).toBe('')
  })
})

describe('compression', () => {
  it('knows compressible types', () => {
    expect(isCompressible('application/json; charset=utf-8')).toBe(true)
    expect(isCompressible('text/csv')).toBe(true)
    expect(isCompressible('application/vnd.api+json')).toBe(true)
    expect(isCompressible('image/png')).toBe(false)
    expect(isCompressible(undefined)).toBe(false)
  })

  it('compresses large bodies into decodable gzip and br, and skips small ones', async () => {
    const body = Buffer.from(
      JSON.stringify(Array.from({ length: 200 }, (_, i) => ({ id: i, name: `item ${i}` }))),
    )
    const out = await compressVariants(body)
    expect(zlib.gunzipSync(out.gzip!)).toEqual(body)
    expect(zlib.brotliDecompressSync(out.br!)).toEqual(body)
    expect(await compressVariants(Buffer.from('{"small":true}'))).toEqual({})
  })

  it('drops codings that do not save enough', async () => {
    const random = Buffer.from(Array.from({ length: 4096 }, () => Math.floor(Math.random() * 256)))
    expect(await compressVariants(random)).toEqual({})
  })
})
