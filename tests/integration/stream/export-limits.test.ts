import Fastify, { type FastifyInstance } from 'fastify'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { createDatabase, type ServiceDatabase } from '../../../service/src/db/create-database.js'
import { exportRoutes, type ExportSummary } from '../../../service/src/exports/export-routes.js'

describe('export concurrency limit', () => {
  let database: ServiceDatabase
  let app: FastifyInstance
  let base: string
  const ended: ExportSummary[] = []

  beforeAll(async () => {
    database = await createDatabase({ dialect: 'sqlite', filename: ':memory:' })
    app = Fastify({ logger: false })
    await app.register(exportRoutes, {
      database,
      maxConcurrentExports: 1,
      onExportEnd: (summary) => ended.push(summary),
    })
    await app.listen({ host: '127.0.0.1', port: 0 })
    base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
  })

  afterAll(async () => {
    await app?.close()
    await database?.close()
  })

  it('refuses an export beyond the limit with 503 and Retry-After, and frees the slot when the first one ends', async () => {
    // A client that starts an export and does not read: the export stays in flight.
    const stalled = await new Promise<{ request: http.ClientRequest; response: http.IncomingMessage }>(
      (resolve, reject) => {
        const request = http.get(`${base}/export/generated.csv?rows=5000000`, (response) => {
          response.pause()
          resolve({ request, response })
        })
        request.on('error', (error) => (request.destroyed ? undefined : reject(error)))
      },
    )
    expect(stalled.response.statusCode).toBe(200)

    const refused = await app.inject({ method: 'GET', url: '/export/generated.csv?rows=10' })
    expect(refused.statusCode).toBe(503)
    expect(refused.headers['retry-after']).toBe('1')
    expect(refused.headers['content-disposition']).toBeUndefined()
    expect(refused.json()).toMatchObject({ error: { code: 'E_EXPORT_BUSY' } })
    // Revalidation and HEAD need no slot.
    expect((await app.inject({ method: 'HEAD', url: '/export/generated.csv?rows=10' })).statusCode).toBe(200)

    stalled.request.destroy()
    for (let i = 0; i < 200 && ended.length === 0; i++)
      await new Promise((resolve) => setTimeout(resolve, 25))
    expect(ended[0]?.outcome).toBe('aborted')
    const accepted = await app.inject({ method: 'GET', url: '/export/generated.csv?rows=2' })
    expect(accepted.statusCode).toBe(200)
    expect(accepted.body).toBe('id,name,value\r\n0,item_0,0\r\n1,item_1,1.5\r\n')
  })
})
