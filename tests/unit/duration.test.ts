import { describe, expect, it } from 'vitest'
import { parseDuration } from '../../src/util/duration.js'
import { InvalidOptionError } from '../../src/errors.js'

describe('parseDuration', () => {
  it.each([
    [250, 250],
    ['250', 250],
    ['250ms', 250],
    ['30s', 30_000],
    ['1.5s', 1_500],
    ['5m', 300_000],
    ['1h', 3_600_000],
    ['2d', 172_800_000],
  ] as const)('parses %s', (input, expected) => {
    expect(parseDuration(input)).toBe(expected)
  })

  it.each([-1, Number.NaN, Number.POSITIVE_INFINITY, '', '1y', 'ten seconds', '-5s'])(
    'rejects %s naming the option',
    (input) => {
      expect(() => parseDuration(input as never, 'ttl')).toThrow(InvalidOptionError)
      expect(() => parseDuration(input as never, 'ttl')).toThrow(/"ttl"/)
    },
  )
})
