import { describe, expect, it } from 'vitest'
import { resolveBenchOptions } from '../../../src/bench/index.js'
import { InvalidOptionError } from '../../../src/errors.js'

describe('resolveBenchOptions', () => {
  it('applies the documented defaults once, into a frozen object', () => {
    const resolved = resolveBenchOptions({ url: 'http://127.0.0.1:3000/items/1' })
    expect(resolved).toMatchObject({
      name: 'http://127.0.0.1:3000/items/1',
      origin: 'http://127.0.0.1:3000',
      connections: 50,
      durationMs: 10_000,
      warmupMs: 2_000,
      pipelining: 1,
      timeoutMs: 10_000,
      rate: null,
      threads: 1,
      serverFacts: true,
    })
    expect(resolved.engine.name).toBe('autocannon')
    expect(resolved.scenario.requests[0]?.path).toBe('/items/1')
    expect(Object.isFrozen(resolved)).toBe(true)
  })

  it('accepts duration strings', () => {
    const resolved = resolveBenchOptions({ url: 'http://h/', duration: '1.5s', warmup: 0, timeout: '250ms' })
    expect([resolved.durationMs, resolved.warmupMs, resolved.timeoutMs]).toEqual([1_500, 0, 250])
  })

  it.each([
    [{ connections: 0 }, 'connections'],
    [{ pipelining: 1.5 }, 'pipelining'],
    [{ duration: '10 parsecs' }, 'duration'],
    [{ duration: 10 }, 'duration'],
    [{ rate: -5 }, 'rate'],
    [{ rate: 100, engine: 'wrk' as const }, 'rate'],
    [{ engine: 'k6' as never }, 'engine'],
  ])('rejects %j naming the option', (options, option) => {
    try {
      resolveBenchOptions({ url: 'http://127.0.0.1:3000/', ...options })
      expect.unreachable()
    } catch (error) {
      expect(error).toBeInstanceOf(InvalidOptionError)
      expect((error as InvalidOptionError).option).toBe(option)
    }
  })
})
