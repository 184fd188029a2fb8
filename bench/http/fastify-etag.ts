/**
 * Peer: Fastify + @fastify/etag on the uncached SQLite route. Every request runs the handler,
 * serializes and hashes the body; a matching `If-None-Match` then becomes a 304.
 */
import etag from '@fastify/etag'
import Fastify from 'fastify'
import { openItemsDb } from '../lib/items-db.js'
import type { RunningTarget } from '../lib/target.js'
import { registerItemRoute } from '../servers/peers/item-route.js'
import { runAlone } from './run-alone.js'

export async function start(port: number): Promise<RunningTarget> {
  const db = openItemsDb()
  const app = Fastify({ logger: false })
  await app.register(etag)
  registerItemRoute(app, async (id) => db.get(id) ?? null)
  await app.listen({ port, host: '127.0.0.1' })
  return {
    async close() {
      await app.close()
      db.close()
    },
  }
}

runAlone(import.meta.url, start)
