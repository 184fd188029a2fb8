import { describe, expect, it } from 'vitest'
import { formatCacheControl, isStorable, resolveCacheControlPolicy } from '../../../src/http/cache-control.js'
import { InvalidOptionError } from '../../../src/errors.js'

describe('Cache-Control policies', () => {
  it('renders every directive with durations in seconds', () => {
    const p = resolveCacheControlPolicy({
      scope: 'public',
      maxAge: '1h',
      sMaxAge: '2h',
      staleWhileRevalidate: '1m',
      staleIfError: 86_400_000,
      mustRevalidate: true,
      immutable: true,
    })
    expect(formatCacheControl(p)).toBe(
      'public, max-age=3600, s-maxage=7200, stale-while-revalidate=60, stale-if-error=86400, must-revalidate, immutable',
    )
  })

  it('renders private no-cache and no-store', () => {
    expect(formatCacheControl(resolveCacheControlPolicy({ scope: 'private', noCache: true }))).toBe(
      'private, no-cache',
    )
    expect(formatCacheControl(resolveCacheControlPolicy({ scope: 'public', noStore: true, maxAge: 5 }))).toBe(
      'no-store',
    )
  })

  it('reduces max-age and s-maxage by the entry age, never below 0', () => {
    const p = resolveCacheControlPolicy({ scope: 'public', maxAge: '1h', sMaxAge: '10m' })
    expect(formatCacheControl(p, { ageMs: 600_500 })).toBe('public, max-age=3000, s-maxage=0')
  })

  it('forces private for credentialed requests and then drops s-maxage', () => {
    const p = resolveCacheControlPolicy({ scope: 'public', maxAge: 60, sMaxAge: 60 })
    expect(formatCacheControl(p, { forcePrivate: true })).toBe('private, max-age=0')
  })

  it('validates at resolution time naming the option', () => {
    expect(() => resolveCacheControlPolicy({ maxAge: '1y' as never }, 'routes.policy')).toThrow(
      /routes\.policy\.maxAge/,
    )
    expect(() => resolveCacheControlPolicy({ scope: 'shared' as never })).toThrow(InvalidOptionError)
    expect(() => resolveCacheControlPolicy({ maxage: 5 } as never)).toThrow(/policy\.maxage/)
    expect(() => resolveCacheControlPolicy({ immutable: 'yes' as never })).toThrow(/immutable/)
  })

  it('knows what a shared server cache may store', () => {
    expect(isStorable(resolveCacheControlPolicy({ scope: 'public' }), false)).toBe(true)
    expect(isStorable(resolveCacheControlPolicy({ scope: 'private' }), false)).toBe(false)
    expect(isStorable(resolveCacheControlPolicy({ scope: 'private' }), true)).toBe(true)
    expect(isStorable(resolveCacheControlPolicy({ noStore: true }), true)).toBe(false)
  })
})
