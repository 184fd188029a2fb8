import { describe, expect, it } from 'vitest'
import {
  conditionalHeaders,
  parseResponseCacheControl,
  responseFreshness,
} from '../../../src/upstream/freshness.js'
import { resolveUpstreamClientOptions } from '../../../src/upstream/upstream-client.js'

const NOW = Date.UTC(2026, 10, 25, 12, 0, 0)
const FALLBACK = 30_000
const MAX = 86_400_000

describe('parseResponseCacheControl', () => {
  it('reads no-store, no-cache, max-age and s-maxage, case-insensitively, ignoring others', () => {
    expect(parseResponseCacheControl('Public, MAX-AGE=60, s-maxage="120", must-revalidate')).toEqual({
      noStore: false,
      noCache: false,
      maxAge: 60,
      sMaxAge: 120,
    })
    expect(parseResponseCacheControl('no-store')).toMatchObject({ noStore: true })
    expect(parseResponseCacheControl('no-cache="set-cookie"')).toMatchObject({ noCache: true })
    expect(parseResponseCacheControl(undefined)).toEqual({
      noStore: false,
      noCache: false,
      maxAge: undefined,
      sMaxAge: undefined,
    })
  })

  it('treats a malformed max-age as absent', () => {
    expect(parseResponseCacheControl('max-age=-1').maxAge).toBeUndefined()
    expect(parseResponseCacheControl('max-age=1.5').maxAge).toBeUndefined()
    expect(parseResponseCacheControl('max-age').maxAge).toBeUndefined()
  })
})

describe('responseFreshness', () => {
  it('uses max-age minus Age, and s-maxage over max-age', () => {
    expect(responseFreshness({ 'cache-control': 'max-age=60', age: '10' }, FALLBACK, MAX, NOW)).toEqual({
      store: true,
      lifetimeMs: 50_000,
    })
    expect(
      responseFreshness({ 'cache-control': 'max-age=60, s-maxage=5' }, FALLBACK, MAX, NOW).lifetimeMs,
    ).toBe(5_000)
    expect(
      responseFreshness({ 'cache-control': 'max-age=5', age: '100' }, FALLBACK, MAX, NOW).lifetimeMs,
    ).toBe(0)
  })

  it('falls back to Expires - Date, then to the configured ttl', () => {
    const date = new Date(NOW).toUTCString()
    const expires = new Date(NOW + 90_000).toUTCString()
    expect(responseFreshness({ expires, date }, FALLBACK, MAX, NOW).lifetimeMs).toBe(90_000)
    expect(responseFreshness({ expires: '0' }, FALLBACK, MAX, NOW).lifetimeMs).toBe(0)
    expect(responseFreshness({}, FALLBACK, MAX, NOW)).toEqual({ store: true, lifetimeMs: FALLBACK })
  })

  it('does not store no-store, revalidates no-cache every time, caps at maxTtl', () => {
    expect(responseFreshness({ 'cache-control': 'no-store, max-age=60' }, FALLBACK, MAX, NOW)).toEqual({
      store: false,
      lifetimeMs: 0,
    })
    expect(responseFreshness({ 'cache-control': 'no-cache, max-age=60' }, FALLBACK, MAX, NOW)).toEqual({
      store: true,
      lifetimeMs: 0,
    })
    expect(responseFreshness({ 'cache-control': 'max-age=999999999' }, FALLBACK, 1_000, NOW).lifetimeMs).toBe(
      1_000,
    )
  })
})

describe('conditionalHeaders', () => {
  it('sends the ETag as If-None-Match and Last-Modified as If-Modified-Since', () => {
    expect(conditionalHeaders({ etag: '"a"', lastModified: 'Thu, 01 Jan 2026 00:00:00 GMT' })).toEqual({
      'if-none-match': '"a"',
      'if-modified-since': 'Thu, 01 Jan 2026 00:00:00 GMT',
    })
    expect(conditionalHeaders({ etag: 'W/"b"' })).toEqual({ 'if-none-match': 'W/"b"' })
    expect(conditionalHeaders({})).toEqual({})
  })
})

describe('resolveUpstreamClientOptions', () => {
  it('resolves defaults into a frozen object and names a bad option', () => {
    const options = resolveUpstreamClientOptions({ origin: 'http://127.0.0.1:8080/', ttl: '5s' })
    expect(options).toMatchObject({ origin: 'http://127.0.0.1:8080', ttl: 5_000, namespace: 'upstream' })
    expect(Object.isFrozen(options)).toBe(true)
    expect(() => resolveUpstreamClientOptions({ origin: 'http://x', connections: 0 })).toThrow(/connections/)
    expect(() =>
      resolveUpstreamClientOptions({ origin: 'http://x', headersTimeout: '5 parsecs' as never }),
    ).toThrow(/headersTimeout/)
    expect(() => resolveUpstreamClientOptions({ origin: 'not a url' })).toThrow(/origin/)
  })
})
