import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { spawnTarget, type SpawnedTarget } from '../../../bench/lib/spawn-target.js'
import { hasRedis } from '../../helpers/services.js'

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
