/**
 * Peer: Fastify + cache-manager 7 (its default in-memory Keyv store, `wrap` cache-aside), serving
 * the bench items. What a user would write instead of Hotpath's cache-aside.
 */
import { createCache } from 'cache-manager'
import Fastify from 'fastify'
import { openItemsDb, type ApiItem } from '../../lib/items-db.js'
import type { RunningTarget } from '../../lib/target.js'
import { registerItemRoute } from './item-route.js'

const TTL_MS = 60_000

export async function start(port: number): Promise<RunningTarget> {
  const db = openItemsDb()
  const cache = createCache({ ttl: TTL_MS })
  const app = Fastify({ logger: false })
  registerItemRoute(app, (id) =>
    cache.wrap<ApiItem | null>(`items:${id}`, async () => db.get(id) ?? null, TTL_MS),
  )
  await app.listen({ port, host: '127.0.0.1' })
  return {
    async close() {
      await app.close()
      await cache.disconnect()
      db.close()
    },
  }
}
