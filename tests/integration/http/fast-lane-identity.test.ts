/**
 * The fast lane answers a stored public entry byte for byte as the routed path answers a hit on
 * it: same status, same headers in the same order (Date aside), same body, for every coding and
 * for revalidations.
 */
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import Fastify from 'fastify'
import type { FastifyInstance } from 'fastify'
import { afterEach, describe, expect, it } from 'vitest'
import { createCache } from '../../../src/cache/index.js'
import type { Cache } from '../../../src/cache/types.js'
import { httpCache } from '../../../src/fastify/http-cache.js'

const ITEM = { id: '1', notes: 'The quick brown fox jumps over the lazy dog. '.repeat(60) }
const open: FastifyInstance[] = []
let cache: Cache | undefined

afterEach(async () => {
  for (const app of open.splice(0)) await app.close()
  await cache?.close()
  cache = undefined
})

async function start(shared: Cache, fastLane: boolean): Promise<string> {
  const app = Fastify()
  await app.register(httpCache, { cache: shared, fastLane })
  app.get(
    '/items/:id',
    { config: { httpCache: { policy: { scope: 'public', maxAge: '5m' }, tags: ['items'] } } },
    async () => ITEM,
  )
  await app.listen({ port: 0, host: '127.0.0.1' })
  open.push(app)
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
}

interface Raw {
  status: number
  headers: string[]
  body: Buffer
}

function get(url: string, headers: Record<string, string> = {}): Promise<Raw> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers, agent: false }, (res) => {
        const chunks: Buffer[] = []
        res.on('data', (chunk: Buffer) => chunks.push(chunk))
        res.on('end', () => {
          // Date is the only header that may differ between two answers a second apart.
          const raw: string[] = []
          for (let i = 0; i < res.rawHeaders.length; i += 2) {
            if (res.rawHeaders[i]!.toLowerCase() !== 'date')
              raw.push(res.rawHeaders[i]!, res.rawHeaders[i + 1]!)
          }
          resolve({ status: res.statusCode!, headers: raw, body: Buffer.concat(chunks) })
        })
      })
      .on('error', reject)
  })
}

describe('fast lane answers', () => {
  it.each([
    ['identity', {}],
    ['gzip', { 'accept-encoding': 'gzip' }],
    ['br', { 'accept-encoding': 'gzip, deflate, br' }],
  ])('are identical to routed hits (%s)', async (_coding, headers: Record<string, string>) => {
    cache = createCache({ ttlJitter: 0 })
    // Two servers over one memory cache: one routes every hit, the other answers them in its lane.
    const routed = await start(cache, false)
    const laned = await start(cache, true)
    const miss = await get(`${routed}/items/1`, headers)
    expect(miss.headers).toContain('miss')
    // The first hit on the lane's server goes through its routes (and teaches its lane the path).
    await get(`${laned}/items/1`, headers)
    const routedHit = await get(`${routed}/items/1`, headers)
    const lanedHit = await get(`${laned}/items/1`, headers)
    const app = open[1]!
    expect(app.httpCache.stats().fastLaneHits).toBe(1)
    expect(routedHit.headers).toContain('hit-l1')
    expect(lanedHit).toEqual(routedHit)

    const etag = routedHit.headers[routedHit.headers.findIndex((h) => h.toLowerCase() === 'etag') + 1]!
    const conditional = { ...headers, 'if-none-match': etag }
    const routed304 = await get(`${routed}/items/1`, conditional)
    const laned304 = await get(`${laned}/items/1`, conditional)
    expect(routed304.status).toBe(304)
    expect(app.httpCache.stats().fastLaneHits).toBe(2)
    expect(laned304).toEqual(routed304)
  })
})
