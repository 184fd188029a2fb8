import { describe, expect, it } from 'vitest'
import { normalizeUrl } from '../../../src/http/normalize-url.js'

describe('normalizeUrl with ignored parameters', () => {
  const rules = { allow: ['q'], unknown: 'reject' as const, ignore: ['profile'] }

  it('leaves an ignored switch out of the key instead of rejecting it', () => {
    expect(normalizeUrl('/search?profile=1&q=a', rules)).toMatchObject({ ok: true, url: '/search?q=a' })
    expect(normalizeUrl('/search?q=a', rules)).toMatchObject({ ok: true, url: '/search?q=a' })
  })

  it('still rejects every other undeclared parameter', () => {
    expect(normalizeUrl('/search?q=a&profiles=1', rules)).toMatchObject({
      ok: false,
      reason: 'unknown-query-param',
      detail: 'profiles',
    })
  })
})
