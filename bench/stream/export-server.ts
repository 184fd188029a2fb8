/**
 * The server side of `bench/stream/export.ts`, run in its own process so that its peak RSS is the
 * export's alone: the export routes on the given database, plus `/naive/items.csv`, the buffered
 * export that the streaming ones replace. Prints `{"port":N}` once listening.
 *
 *   node --import tsx bench/stream/export-server.ts <database-url>
 */
import Fastify from 'fastify'
import type { AddressInfo } from 'node:net'

import { parseDatabaseUrl } from '../../service/src/config.js'
import { createDatabase } from '../../service/src/db/create-database.js'
import { exportRoutes } from '../../service/src/exports/export-routes.js'

const url = process.argv[2]
if (!url) throw new Error('usage: export-server.ts <database-url>')
const database = await createDatabase(parseDatabaseUrl(url), { poolSize: 4 })
const app = Fastify({ logger: false })
await app.register(exportRoutes, { database })

const COLUMNS = ['id', 'name', 'category', 'price', 'description', 'updated_at', 'version'] as const

function cell(value: unknown): string {
  const text = String(value ?? '')
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text
}

// The seed chapter's "naive version": load every row, build the whole file, send it.
app.get('/naive/items.csv', async (_request, reply) => {
  const rows = await database.db.selectFrom('items').select(COLUMNS).orderBy('id').execute()
  const lines = [COLUMNS.join(',')]
  for (const row of rows) lines.push(COLUMNS.map((column) => cell(row[column])).join(','))
  return reply.type('text/csv; charset=utf-8').send(lines.join('\r\n') + '\r\n')
})

await app.listen({ host: '127.0.0.1', port: 0 })
const { port } = app.server.address() as AddressInfo
console.log(JSON.stringify({ port }))
