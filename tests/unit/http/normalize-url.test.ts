import { describe, expect, it } from 'vitest'
import { normalizePath, normalizeUrl } from '../../../src/http/normalize-url.js'

const ignore = { allow: ['a', 'b', 'page'], unknown: 'ignore' } as const
const reject = { allow: ['a', 'b'], unknown: 'reject' } as const

describe('normalizeUrl', () => {
  it('sorts parameters by name then value and keeps only declared ones', () => {
    expect(normalizeUrl('/items?b=2&utm=x&a=1&a=0', ignore)).toEqual({
      ok: true,
      path: '/items',
      query: 'a=0&a=1&b=2',
      url: '/items?a=0&a=1&b=2',
    })
    expect(normalizeUrl('/items?utm=x', ignore)).toMatchObject({ ok: true, url: '/items' })
  })

  it('canonicalises encodings so equivalent URLs share a key', () => {
    const a = normalizeUrl('/it%65ms?a=x%20y', ignore)
    const b = normalizeUrl('/items?a=x+y', ignore)
    expect(a).toMatchObject({ ok: true, url: '/items?a=x%20y' })
    expect(b).toEqual(a)
    expect(normalizeUrl('/caf%c3%a9', ignore)).toMatchObject({ path: '/caf%C3%A9' })
  })

  it('rejects unknown parameters when the route says so', () => {
    expect(normalizeUrl('/items?a=1&evil=1', reject)).toEqual({
      ok: false,
      reason: 'unknown-query-param',
      detail: 'evil',
    })
  })

  it.each([
    '/me/balance;.js',
    '/me/balance%3B.css',
    '/me%2Fbalance',
    '/me/balance%2f..%2fx',
    '/me/balance%23x',
    '/me/balance#frag',
    '/me/./balance',
    '/me/../balance',
    '/me//balance',
    '/me\\balance',
    '/me/balance/x.css',
    '/me/balance.js',
    '/me/balance/%2e%2e/x',
  ])('refuses the cache-deception path %s', (url) => {
    expect(normalizeUrl(url, ignore)).toMatchObject({ ok: false, reason: 'cache-deception' })
  })

  it('allows static extensions on static routes only', () => {
    expect(normalizeUrl('/assets/app.css', ignore, { staticFiles: true })).toMatchObject({ ok: true })
  })

  it('reports malformed encodings', () => {
    expect(normalizeUrl('/items?a=%zz', ignore)).toMatchObject({ ok: false, reason: 'malformed' })
    expect(normalizeUrl('/it%zzems', ignore)).toMatchObject({ ok: false, reason: 'malformed' })
  })

  it('normalizePath drops the query', () => {
    expect(normalizePath('/it%65ms/1?x=1')).toBe('/items/1')
  })
})
