import { describe, expect, it } from 'vitest'
import { loadConfig } from '../../../service/src/config.js'
import { parseRateLimit } from '../../../service/src/rate-limit/rate-limit-config.js'

describe('RATE_LIMIT', () => {
  it('is off by default', () => {
    expect(loadConfig({}).rateLimit).toBe(false)
  })

  it.each([
    ['off', false],
    ['0', false],
    ['600/1m', { max: 600, window: 60_000 }],
    ['20/1s', { max: 20, window: 1_000 }],
    [' 5 / 250ms ', { max: 5, window: 250 }],
    ['100000/1h', { max: 100_000, window: 3_600_000 }],
  ])('parses %j', (text, expected) => {
    expect(parseRateLimit(text)).toEqual(expected)
    expect(loadConfig({ RATE_LIMIT: text }).rateLimit).toEqual(expected)
  })

  it.each(['on', '10', '0/1m', '-1/1m', '10/0', '10/soon', '1.5/1m', '10/2d', '/1m'])(
    'rejects %j with a ConfigError naming the variable',
    (text) => {
      expect(() => loadConfig({ RATE_LIMIT: text })).toThrow(/Invalid RATE_LIMIT/)
    },
  )
})
