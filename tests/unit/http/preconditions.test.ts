import { describe, expect, it } from 'vitest'
import { evaluatePreconditions, selectCodingForRevalidation } from '../../../src/http/preconditions.js'
import { formatHttpDate } from '../../../src/http/http-date.js'

const MODIFIED = Date.UTC(2024, 0, 10, 12, 0, 0)
const BEFORE = formatHttpDate(MODIFIED - 60_000)
const AT = formatHttpDate(MODIFIED + 400)
const v = { etag: '"v2"', lastModified: MODIFIED }

describe('evaluatePreconditions (RFC 9110 §13.2.2)', () => {
  it.each([
    // [case, headers, method, expected]
    ['no conditions', {}, 'GET', 'proceed'],
    ['INM matches → 304 on GET', { 'if-none-match': '"v2"' }, 'GET', 304],
    ['INM matches → 304 on HEAD', { 'if-none-match': '"v2"' }, 'HEAD', 304],
    ['INM matches on POST → 412, not 304', { 'if-none-match': '"v2"' }, 'POST', 412],
    ['INM matches on PUT → 412', { 'if-none-match': '"v2"' }, 'PUT', 412],
    ['INM weak comparison', { 'if-none-match': 'W/"v2"' }, 'GET', 304],
    ['INM list containing the tag', { 'if-none-match': '"v0", "v1", "v2"' }, 'GET', 304],
    ['INM list without it', { 'if-none-match': '"v0", "v1"' }, 'GET', 'proceed'],
    ['INM * on existing resource', { 'if-none-match': '*' }, 'GET', 304],
    ['INM * on PUT (create-only) when it exists', { 'if-none-match': '*' }, 'PUT', 412],
    ['IM strong match', { 'if-match': '"v2"' }, 'PUT', 'proceed'],
    ['IM stale → 412', { 'if-match': '"v1"' }, 'PUT', 412],
    ['IM weak tag never matches strongly', { 'if-match': 'W/"v2"' }, 'PUT', 412],
    ['IM list', { 'if-match': '"v1", "v2"' }, 'PATCH', 'proceed'],
    ['IM *', { 'if-match': '*' }, 'DELETE', 'proceed'],
    ['IM fails before INM is considered', { 'if-match': '"v1"', 'if-none-match': '"v9"' }, 'GET', 412],
    ['IUS ignored when IM present', { 'if-match': '"v2"', 'if-unmodified-since': BEFORE }, 'PUT', 'proceed'],
    ['IUS earlier than Last-Modified → 412', { 'if-unmodified-since': BEFORE }, 'PUT', 412],
    ['IUS at Last-Modified (same second) → proceed', { 'if-unmodified-since': AT }, 'PUT', 'proceed'],
    ['IUS invalid date ignored', { 'if-unmodified-since': 'garbage' }, 'PUT', 'proceed'],
    ['IMS not modified → 304', { 'if-modified-since': AT }, 'GET', 304],
    ['IMS modified since → proceed', { 'if-modified-since': BEFORE }, 'GET', 'proceed'],
    ['IMS ignored on POST', { 'if-modified-since': AT }, 'POST', 'proceed'],
    [
      'IMS ignored when INM present (INM false wins)',
      { 'if-none-match': '"v1"', 'if-modified-since': AT },
      'GET',
      'proceed',
    ],
    ['IMS invalid date ignored', { 'if-modified-since': 'nope' }, 'GET', 'proceed'],
  ] as const)('%s', (_name, headers, method, expected) => {
    expect(evaluatePreconditions(headers, v, method)).toBe(expected)
  })

  it('ignores If-Modified-Since dates in the future', () => {
    const future = formatHttpDate(Date.now() + 86_400_000)
    expect(
      evaluatePreconditions({ 'if-modified-since': future }, { lastModified: Date.now() - 1000 }, 'GET'),
    ).toBe('proceed')
  })

  it('handles a resource without a current representation', () => {
    const none = { exists: false }
    expect(evaluatePreconditions({ 'if-match': '*' }, none, 'PUT')).toBe(412)
    expect(evaluatePreconditions({ 'if-none-match': '*' }, none, 'PUT')).toBe('proceed')
    expect(evaluatePreconditions({ 'if-match': '"v2"' }, none, 'PUT')).toBe(412)
  })

  it('without an ETag, If-Match fails and If-None-Match passes', () => {
    expect(evaluatePreconditions({ 'if-match': '"x"' }, {}, 'PUT')).toBe(412)
    expect(evaluatePreconditions({ 'if-none-match': '"x"' }, {}, 'GET')).toBe('proceed')
  })
})

describe('selectCodingForRevalidation', () => {
  const all = ['br', 'gzip', 'identity'] as const
  it('revalidates the coding the client holds when it still accepts it', () => {
    expect(selectCodingForRevalidation('"abc-gz"', '"abc"', all, 'br')).toBe('gzip')
    expect(selectCodingForRevalidation('"abc"', '"abc"', all, 'br')).toBe('identity')
    expect(selectCodingForRevalidation('"other-gz"', '"abc"', all, 'br')).toBe('br')
    expect(selectCodingForRevalidation(undefined, '"abc"', all, 'br')).toBe('br')
    expect(selectCodingForRevalidation('"abc-gz"', '"abc"', ['br', 'identity'], 'br')).toBe('br')
  })
})

describe('several current tags (coded variants of one state)', () => {
  it('If-Match passes for any variant, If-None-Match matches any', () => {
    const variants = { etag: ['"v2"', '"v2-gz"', '"v2-br"'] }
    expect(evaluatePreconditions({ 'if-match': '"v2-gz"' }, variants, 'PUT')).toBe('proceed')
    expect(evaluatePreconditions({ 'if-match': '"v1-gz"' }, variants, 'PUT')).toBe(412)
    expect(evaluatePreconditions({ 'if-none-match': '"v2-br"' }, variants, 'GET')).toBe(304)
  })
})
