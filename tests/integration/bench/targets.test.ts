import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { spawnTarget, type SpawnedTarget } from '../../../bench/lib/spawn-target.js'
import { hasRedis } from '../../helpers/services.js'

const SERVICE = 'bench/lib/service-target.ts'

interface TargetCase {
  name: string
  module: string
  exportName?: string
  needsRedis?: boolean
}

const TARGETS: TargetCase[] = [
  { name: 'Fastify + BentoCache', module: 'bench/servers/peers/fastify-bentocache.ts' },
  { name: 'Fastify + cache-manager', module: 'bench/servers/peers/fastify-cache-manager.ts' },
  { name: 'service uncached', module: 'bench/lib/service-target.ts' },
  { name: 'service L1', module: 'bench/lib/service-target.ts', exportName: 'startL1' },
  {
    name: 'service L1 + L2',
    module: 'bench/lib/service-target.ts',
    exportName: 'startL1L2',
    needsRedis: true,
  },
  { name: 'service L1, diagnostics off', module: SERVICE, exportName: 'startL1NoDiagnostics' },
  { name: 'service response cache', module: SERVICE, exportName: 'startResponseCache' },
  { name: 'service fast lane', module: SERVICE, exportName: 'startFastLane' },
  { name: 'service response-cache miss', module: SERVICE, exportName: 'startResponseCacheMiss' },
]

/**
 * What each service configuration must show on a repeated `GET /items/7`: how the second response
 * was served (`X-Cache`) and whether diagnostics are on (`Server-Timing`). A wrong environment in
 * `service-target.ts` (a cache left on in the uncached baseline, diagnostics still on in the
 * "off" variant) would make the suite compare the wrong things.
 */
const SERVICE_CONFIGS: {
  exportName: string
  /** Accepted values of `X-Cache` (null: none, or `miss`). */
  secondXCache: string[] | null
  serverTiming: boolean
  needsRedis?: boolean
}[] = [
  { exportName: 'start', secondXCache: null, serverTiming: true },
  { exportName: 'startL1', secondXCache: ['hit-l1'], serverTiming: true },
  { exportName: 'startL1NoDiagnostics', secondXCache: ['hit-l1'], serverTiming: false },
  { exportName: 'startL1L2', secondXCache: ['hit-l1', 'hit-l2'], serverTiming: true, needsRedis: true },
  { exportName: 'startResponseCache', secondXCache: ['hit-l1'], serverTiming: true },
  { exportName: 'startResponseCacheMiss', secondXCache: ['miss'], serverTiming: true },
]

async function getJson(url: string): Promise<{ status: number; body: unknown }> {
  const response = await fetch(url)
  return { status: response.status, body: await response.json() }
}

const bodies = new Map<string, unknown>()

describe.each(TARGETS.filter((t) => !t.needsRedis || hasRedis))(
  'bench target $name in its own process',
  (target) => {
    let server: SpawnedTarget

    beforeAll(async () => {
      server = await spawnTarget(target.module, target.exportName ? { exportName: target.exportName } : {})
    })

    afterAll(async () => {
      await server?.stop()
    })

    it('serves GET /items/:id with the service payload shape, twice the same (cached or not)', async () => {
      const first = await getJson(`${server.url}/items/7`)
      const second = await getJson(`${server.url}/items/7`)
      expect(first.status).toBe(200)
      expect(second).toEqual(first)
      expect(Object.keys(first.body as object).sort()).toEqual(
        ['category', 'description', 'id', 'name', 'price', 'updatedAt', 'version'].sort(),
      )
      expect((first.body as { id: number }).id).toBe(7)
      bodies.set(target.name, first.body)
    })

    it('answers 404 for a missing item and 4xx JSON errors for a bad id, never 500', async () => {
      const missing = await getJson(`${server.url}/items/99999999`)
      expect(missing.status).toBe(404)
      const bad = await getJson(`${server.url}/items/abc`)
      expect(bad.status).toBeGreaterThanOrEqual(400)
      expect(bad.status).toBeLessThan(500)
      expect(typeof (bad.body as { error: { code: string } }).error.code).toBe('string')
    })

    it('reports its CPU time and stops on request', async () => {
      expect(server.cpuMs()).toBeGreaterThan(0)
      await server.stop()
      await expect(fetch(`${server.url}/items/7`)).rejects.toThrow()
    })
  },
)

describe('payload parity', () => {
  it('every target serves the same item bytes (same generator, same seed)', () => {
    const values = [...bodies.values()]
    expect(values.length).toBeGreaterThanOrEqual(4)
    for (const value of values) expect(value).toEqual(values[0])
  })
})

describe.each(SERVICE_CONFIGS.filter((c) => !c.needsRedis || hasRedis))(
  'service bench configuration $exportName',
  (config) => {
    let server: SpawnedTarget

    beforeAll(async () => {
      server = await spawnTarget(SERVICE, { exportName: config.exportName })
    })

    afterAll(async () => {
      await server?.stop()
    })

    it('serves the second read the way the configuration says, with or without Server-Timing', async () => {
      await (await fetch(`${server.url}/items/7`)).text()
      // The miss configuration keeps entries 1 ms: make sure the first one has expired.
      await new Promise((resolve) => setTimeout(resolve, 20))
      const second = await fetch(`${server.url}/items/7`)
      await second.text()
      expect(second.status).toBe(200)
      const xCache = second.headers.get('x-cache')
      if (config.secondXCache === null) expect(xCache === null || xCache === 'miss').toBe(true)
      else expect(config.secondXCache).toContain(xCache)
      expect(second.headers.get('server-timing') !== null).toBe(config.serverTiming)
    })
  },
)
