/**
 * Peer: Fastify + BentoCache (memory L1, `getOrSet` cache-aside), serving the bench items.
 * What a user would write instead of Hotpath's cache-aside.
 */
import { BentoCache, bentostore } from 'bentocache'
import { memoryDriver } from 'bentocache/drivers/memory'
import Fastify from 'fastify'
import { openItemsDb, type ApiItem } from '../../lib/items-db.js'
import type { RunningTarget } from '../../lib/target.js'
import { registerItemRoute } from './item-route.js'

export async function start(port: number): Promise<RunningTarget> {
  const db = openItemsDb()
  const bento = new BentoCache({
    default: 'memory',
    stores: { memory: bentostore().useL1Layer(memoryDriver({ maxSize: '100mb' })) },
  })
  const app = Fastify({ logger: false })
  registerItemRoute(app, (id) =>
    bento.getOrSet<ApiItem | null>({ key: `items:${id}`, ttl: '1m', factory: () => db.get(id) ?? null }),
  )
  await app.listen({ port, host: '127.0.0.1' })
  return {
    async close() {
      await app.close()
      await bento.disconnectAll()
      db.close()
    },
  }
}
