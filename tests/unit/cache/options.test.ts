import { describe, expect, it } from 'vitest'
import { redisStore } from '../../../src/cache/stores/redis/index.js'
import { memoryStore } from '../../../src/cache/index.js'

describe('redis store options', () => {
  it('rejects a bad URL, client or bound with the option named', () => {
    expect(() => redisStore({ url: 'http://x' })).toThrow(/"url"/)
    expect(() => redisStore({ client: {} })).toThrow(/"client"/)
    expect(() => redisStore({ breakerThreshold: 0 })).toThrow(/"breakerThreshold"/)
    expect(() => redisStore({ timeout: 0 })).toThrow(/"timeout"/)
  })
})

describe('memory store options', () => {
  it('resolves once into a frozen object with defaults', () => {
    const factory = memoryStore()
    expect(Object.isFrozen(factory.options)).toBe(true)
    expect(factory.options.maxBytes).toBe(64 * 1024 * 1024)
    expect(factory.options.maxItems).toBeUndefined()
  })
})
