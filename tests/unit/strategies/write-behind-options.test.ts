import { describe, expect, it } from 'vitest'
import { writeBehindKeys } from '../../../src/cache/strategies/defaults.js'
import { resolveWriteBehindOptions } from '../../../src/cache/strategies/write-behind.js'
import { InvalidOptionError } from '../../../src/errors.js'

describe('write-behind options', () => {
  it('resolves defaults once into a frozen object', () => {
    const options = resolveWriteBehindOptions({ block: '1s', maxPending: 10 })
    expect(Object.isFrozen(options)).toBe(true)
    expect(options).toMatchObject({
      prefix: 'hotpath:wb',
      name: 'default',
      group: 'flushers',
      block: 1_000,
      maxPending: 10,
      batchSize: 500,
      maxAttempts: 5,
      waitReplicas: 0,
      waitAof: undefined,
    })
    expect(options.withVersion({ id: 1, version: 0 }, 7)).toEqual({ id: 1, version: 7 })
    expect(options.idOf({ id: 3 })).toBe(3)
  })

  it('names the bad option', () => {
    expect(() => resolveWriteBehindOptions({ maxPending: 0 })).toThrow(InvalidOptionError)
    expect(() => resolveWriteBehindOptions({ batchSize: 100_000 })).toThrow(/batchSize/)
    expect(() => resolveWriteBehindOptions({ name: 'a{b}' })).toThrow(/"name"/)
    expect(() => resolveWriteBehindOptions({ waitAof: { local: 0, replicas: 0 } })).toThrow(/waitAof/)
    expect(() => resolveWriteBehindOptions({ waitReplicas: -1 })).toThrow(/waitReplicas/)
    expect(() => resolveWriteBehindOptions({ client: 'redis://' })).toThrow(/client/)
    expect(() => resolveWriteBehindOptions({ retryDelay: 'soon' as never })).toThrow(/retryDelay/)
  })

  it('keeps every key of a queue in one Redis Cluster slot', () => {
    const keys = writeBehindKeys('app', 'items')
    expect(Object.values(keys).every((key) => key.startsWith('app:{items}:'))).toBe(true)
    expect(new Set(Object.values(keys)).size).toBe(4)
  })
})
