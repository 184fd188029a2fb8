import diagnostics from 'node:diagnostics_channel'
import { describe, expect, it } from 'vitest'
import { CircuitBreaker, type CircuitState } from '../../../src/cache/circuit-breaker.js'
import { createCache } from '../../../src/cache/index.js'
import { InvalidOptionError } from '../../../src/errors.js'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

describe('circuit breaker', () => {
  it('opens after N consecutive failures, refuses, then lets one probe through', async () => {
    const states: CircuitState[] = []
    const breaker = new CircuitBreaker({ threshold: 3, duration: 30, onChange: (s) => states.push(s) })
    breaker.failure()
    breaker.success()
    breaker.failure()
    breaker.failure()
    expect(breaker.state).toBe('closed')
    breaker.failure()
    expect(breaker.state).toBe('open')
    expect(breaker.allow()).toBe(false)
    expect(breaker.refusing()).toBe(true)
    await sleep(40)
    expect(breaker.allow()).toBe(true) // the probe
    expect(breaker.state).toBe('half-open')
    expect(breaker.allow()).toBe(false) // only one probe at a time
    breaker.failure()
    expect(breaker.state).toBe('open')
    await sleep(40)
    expect(breaker.allow()).toBe(true)
    breaker.success()
    expect(breaker.state).toBe('closed')
    expect(breaker.allow()).toBe(true)
    expect(states).toEqual(['open', 'half-open', 'open', 'half-open', 'closed'])
  })
})

describe('diagnostics_channel and etags', () => {
  it('publishes hotpath:cache:* events', async () => {
    const cache = createCache()
    const seen: unknown[] = []
    const onHit = (message: unknown) => seen.push(message)
    diagnostics.subscribe('hotpath:cache:hit', onHit)
    try {
      await cache.set('k', 1)
      await cache.get('k')
      expect(seen).toEqual([{ key: 'k', tier: 'l1' }])
    } finally {
      diagnostics.unsubscribe('hotpath:cache:hit', onHit)
      await cache.close()
    }
  })

  it('keeps a given etag (strong or weak) and rejects a malformed one', async () => {
    const cache = createCache()
    expect((await cache.set('a', 1, { etag: '"v42"' })).etag).toBe('"v42"')
    expect((await cache.set('w', 1, { etag: 'W/"v42"' })).etag).toBe('W/"v42"')
    await expect(cache.set('b', 1, { etag: 'v42' })).rejects.toThrow(InvalidOptionError)
    await expect(cache.set('c', 1, { etag: '"a b"' })).rejects.toThrow(/etag/)
    await cache.close()
  })

  it('a closed cache refuses calls', async () => {
    const cache = createCache()
    await cache.close()
    await expect(cache.set('k', 1)).rejects.toThrow(/closed/)
  })
})
