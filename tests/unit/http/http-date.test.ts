import { describe, expect, it } from 'vitest'
import { formatHttpDate, parseHttpDate } from '../../../src/http/http-date.js'

const T = Date.UTC(1994, 10, 6, 8, 49, 37)

describe('HTTP-date', () => {
  it('parses the three formats of RFC 9110 §5.6.7', () => {
    expect(parseHttpDate('Sun, 06 Nov 1994 08:49:37 GMT')).toBe(T)
    expect(parseHttpDate('Sunday, 06-Nov-94 08:49:37 GMT')).toBe(T)
    expect(parseHttpDate('Sun Nov  6 08:49:37 1994')).toBe(T)
  })

  it('rejects invalid dates', () => {
    for (const bad of [
      '',
      'yesterday',
      '2024-01-01T00:00:00Z',
      'Sun, 31 Feb 1994 08:49:37 GMT',
      'Sun, 06 Nov 1994 25:00:00 GMT',
      'Sun, 06 Nov 1994 08:49:37 UTC',
    ]) {
      expect(parseHttpDate(bad), bad).toBeUndefined()
    }
    expect(parseHttpDate(undefined)).toBeUndefined()
  })

  it('formats IMF-fixdate', () => {
    expect(formatHttpDate(T)).toBe('Sun, 06 Nov 1994 08:49:37 GMT')
    expect(parseHttpDate(formatHttpDate(T + 999))).toBe(T)
  })
})
