import { describe, expect, it } from 'vitest'
import { createCache } from '../../../src/cache/index.js'
import type { Cache } from '../../../src/cache/types.js'
import { resolveCacheControlPolicy } from '../../../src/http/cache-control.js'
import { ResponseCache } from '../../../src/http/response-cache.js'
import type { StoreInput } from '../../../src/http/response-cache.js'

const input: StoreInput = {
  status: 200,
  headers: [['content-type', 'application/json']],
  body: Buffer.from('{"id":1}'),
  contentType: 'application/json',
  etag: undefined,
  lastModified: undefined,
  policy: resolveCacheControlPolicy({ scope: 'public', maxAge: '1m' }),
  private: false,
  public: true,
  vary: '',
  tags: ['items'],
  path: '/items/1',
  ttl: 60_000,
  grace: 0,
}

/** The same cache without `peekEntry`, as a third-party `Cache` implementation would be. */
function withoutPeek(cache: Cache): Cache {
  return new Proxy(cache, {
    get(target, property) {
      if (property === 'peekEntry') return undefined
      if (property === 'namespace') return (name: string) => withoutPeek(target.namespace(name))
      const value: unknown = Reflect.get(target, property, target)
      return typeof value === 'function' ? (value as () => unknown).bind(target) : value
    },
  })
}

describe('ResponseCache.peek', () => {
  it('answers a stored response synchronously, and nothing once its path is purged', async () => {
    const cache = createCache({ ttlJitter: 0 })
    const responses = new ResponseCache(cache, { compression: false })
    const key = responses.keyFor({ method: 'GET', url: '/items/1', vary: '', format: 'json' })
    expect(responses.peek(key)).toBeUndefined()
    await responses.store(key, input)
    const hit = responses.peek(key)
    expect(hit?.fresh).toBe(true)
    expect(hit?.source).toBe('hit-l1')
    expect(hit?.stored.body.toString()).toBe('{"id":1}')
    await responses.invalidatePaths(['/items/1'])
    expect(responses.peek(key)).toBeUndefined()
    expect(await responses.lookup(key)).toBeUndefined()
    await cache.close()
  })

  it('falls back to lookup for a cache without peekEntry', async () => {
    const cache = createCache({ ttlJitter: 0 })
    const responses = new ResponseCache(withoutPeek(cache), { compression: false })
    const key = responses.keyFor({ method: 'GET', url: '/items/1', vary: '', format: 'json' })
    await responses.store(key, input)
    expect(responses.peek(key)).toBeUndefined()
    expect((await responses.lookup(key))?.stored.body.toString()).toBe('{"id":1}')
    await cache.close()
  })
})
