import { parse } from 'csv-parse/sync'
import Fastify, { type FastifyInstance } from 'fastify'
import http from 'node:http'
import pg from 'pg'
import type { AddressInfo } from 'node:net'
import { brotliDecompressSync, gunzipSync } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { exportRoutes, type ExportSummary } from '../../../service/src/exports/export-routes.js'
import { POSTGRES_URL } from '../../helpers/services.js'
import { EXPORT_BACKENDS, type ExportFixture } from './export-backends.js'

/** Enough rows that an export is far larger than the socket buffers between server and client. */
const ITEMS = 150_000
const COLUMNS = ['id', 'name', 'category', 'price', 'description', 'updated_at', 'version'] as const
const FORMULA_START = new Set(['=', '+', '-', '@', '\t', '\r'])

interface Harness {
  app: FastifyInstance
  base: string
  summaries: ExportSummary[]
  nextSummary(): Promise<ExportSummary>
}

async function startHarness(fixture: ExportFixture): Promise<Harness> {
  const summaries: ExportSummary[] = []
  const waiters: ((summary: ExportSummary) => void)[] = []
  const app = Fastify({ logger: false })
  await app.register(exportRoutes, {
    database: fixture.database,
    onExportEnd: (summary) => {
      summaries.push(summary)
      waiters.shift()?.(summary)
    },
  })
  await app.listen({ host: '127.0.0.1', port: 0 })
  const { port } = app.server.address() as AddressInfo
  return {
    app,
    base: `http://127.0.0.1:${port}`,
    summaries,
    nextSummary: () => new Promise((resolve) => waiters.push(resolve)),
  }
}

/** GET over a real socket; read `bytesBeforeAbort` bytes (slowly if `delayMs`), then hang up. */
function readThenAbort(
  url: string,
  bytesBeforeAbort: number,
  delayMs = 0,
  headers: http.OutgoingHttpHeaders = {},
): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { headers }, (response) => {
      let received = 0
      response.on('data', (chunk: Buffer) => {
        received += chunk.length
        if (received >= bytesBeforeAbort) {
          request.destroy()
          resolve(received)
        } else if (delayMs > 0) {
          response.pause()
          setTimeout(() => response.resume(), delayMs)
        }
      })
      response.on('end', () => reject(new Error(`export ended after ${received} bytes, before the abort`)))
    })
    request.on('error', (error) => {
      if (!request.destroyed) reject(error)
    })
  })
}

function neutralised(value: string): string {
  return FORMULA_START.has(value.charAt(0)) ? `'${value}` : value
}

for (const backend of EXPORT_BACKENDS) {
  describe.runIf(backend.enabled)(`export routes on ${backend.name}`, () => {
    let fixture: ExportFixture
    let harness: Harness

    beforeAll(async () => {
      fixture = await backend.open(ITEMS)
      harness = await startHarness(fixture)
    })

    afterAll(async () => {
      await harness?.app.close()
      await fixture?.close()
    })

    const allItems = () => fixture.database.db.selectFrom('items').select(COLUMNS).orderBy('id').execute()

    it('exports every item as CSV that parses back to the rows, formulas neutralised', async () => {
      const response = await harness.app.inject({ method: 'GET', url: '/export/items.csv?via=cursor' })
      expect(response.statusCode).toBe(200)
      expect(response.headers['content-type']).toBe('text/csv; charset=utf-8')
      expect(response.headers['content-disposition']).toBe(
        `attachment; filename="items.csv"; filename*=UTF-8''items.csv`,
      )
      const [header, ...records] = parse(response.body) as string[][]
      expect(header).toEqual([...COLUMNS])
      const rows = await allItems()
      expect(records).toHaveLength(ITEMS)
      const expected = rows.map((row) => [
        String(row.id),
        neutralised(row.name),
        neutralised(row.category),
        String(row.price),
        neutralised(row.description),
        row.updated_at,
        String(row.version),
      ])
      expect(records).toEqual(expected)
      // The seed plants formula cells; make sure the test saw some.
      expect(rows.some((row) => FORMULA_START.has(row.description.charAt(0)))).toBe(true)
    })

    it('exports NDJSON with the chosen columns, filtered by category and since', async () => {
      const rows = await allItems()
      const category = rows[0]!.category
      const sorted = rows.map((row) => row.updated_at).sort()
      const since = sorted[Math.floor(sorted.length / 2)]!
      const response = await harness.app.inject({
        method: 'GET',
        url: `/export/items.ndjson?columns=id,updated_at&category=${encodeURIComponent(category)}&since=${encodeURIComponent(since)}`,
      })
      expect(response.statusCode).toBe(200)
      expect(response.headers['content-type']).toBe('application/x-ndjson; charset=utf-8')
      const lines = response.body
        .trimEnd()
        .split('\n')
        .map((line) => JSON.parse(line) as { id: number; updated_at: string })
      const expected = rows
        .filter((row) => row.category === category && row.updated_at >= since)
        .map((row) => ({ id: row.id, updated_at: row.updated_at }))
      expect(expected.length).toBeGreaterThan(0)
      expect(lines).toEqual(expected)
    })

    it('compresses with gzip and brotli when accepted', async () => {
      const url = `/export/items.csv?via=cursor&columns=id,name`
      const plain = await harness.app.inject({ method: 'GET', url })
      const gzip = await harness.app.inject({ method: 'GET', url, headers: { 'accept-encoding': 'gzip' } })
      const br = await harness.app.inject({ method: 'GET', url, headers: { 'accept-encoding': 'br, gzip' } })
      expect(plain.headers['content-encoding']).toBeUndefined()
      expect(gzip.headers['content-encoding']).toBe('gzip')
      expect(br.headers['content-encoding']).toBe('br')
      expect(gzip.headers.vary).toContain('accept-encoding')
      expect(gunzipSync(gzip.rawPayload).toString()).toBe(plain.body)
      expect(brotliDecompressSync(br.rawPayload).toString()).toBe(plain.body)
      expect(gzip.rawPayload.length).toBeLessThan(plain.rawPayload.length / 2)
    })

    it('answers If-None-Match with 304 until the data changes, and HEAD without running the export', async () => {
      const url = '/export/items.csv?columns=id,price&via=cursor'
      const before = harness.summaries.length
      const head = await harness.app.inject({ method: 'HEAD', url })
      expect(head.statusCode).toBe(200)
      expect(head.body).toBe('')
      const etag = head.headers.etag as string
      expect(etag).toMatch(/^W\/"/)
      const revalidated = await harness.app.inject({ method: 'GET', url, headers: { 'if-none-match': etag } })
      expect(revalidated.statusCode).toBe(304)
      expect(revalidated.body).toBe('')
      expect(harness.summaries.length).toBe(before)

      await fixture.database.db
        .updateTable('items')
        .set({ price: 1, updated_at: new Date(Date.now() + 60_000).toISOString() })
        .where('id', '=', 2)
        .execute()
      const changed = await harness.app.inject({ method: 'GET', url, headers: { 'if-none-match': etag } })
      expect(changed.statusCode).toBe(200)
      expect(changed.headers.etag).not.toBe(etag)
      expect(changed.body.split('\n')[2]).toBe('2,1\r')
    })

    it('puts the category in a safe RFC 6266 filename', async () => {
      const response = await harness.app.inject({
        method: 'HEAD',
        url: '/export/items.csv?category=caf%C3%A9%22%20%2F.',
      })
      expect(response.statusCode).toBe(200)
      expect(response.headers['content-disposition']).toBe(
        `attachment; filename="items-caf__ _..csv"; filename*=UTF-8''items-caf%C3%A9%22%20_..csv`,
      )
    })

    it('rejects bad input with 400 and a JSON error', async () => {
      const cases: [string, string][] = [
        ['/export/items.csv?columns=id,password', 'E_EXPORT_UNKNOWN_COLUMN'],
        ['/export/items.ndjson?columns=api_token_hash', 'E_EXPORT_UNKNOWN_COLUMN'],
        ['/export/items.csv?since=last-tuesday', 'E_EXPORT_INVALID_DATE'],
        ['/export/items.csv?since=2024-02-30', 'E_EXPORT_INVALID_DATE'],
        ['/export/items.csv?category=a&category=b', 'E_EXPORT_INVALID_PARAMETER'],
        ['/export/items.ndjson?via=copy', 'E_EXPORT_INVALID_PARAMETER'],
        ['/export/generated.csv?rows=-1', 'E_EXPORT_INVALID_ROWS'],
        ['/export/generated.csv?rows=1000000000000', 'E_EXPORT_INVALID_ROWS'],
        ['/export/generated.csv?rows=5000001', 'E_EXPORT_INVALID_ROWS'],
        ['/export/generated.csv?rows=ten', 'E_EXPORT_INVALID_ROWS'],
      ]
      for (const [url, code] of cases) {
        const response = await harness.app.inject({ method: 'GET', url })
        expect(response.statusCode, url).toBe(400)
        expect(response.headers['content-type'], url).toContain('application/json')
        expect(response.headers['content-disposition'], url).toBeUndefined()
        const body = response.json<{ error: { code: string; message: string } }>()
        expect(body.error.code, url).toBe(code)
        expect(body.error.message.length, url).toBeGreaterThan(10)
      }
      const capped = await harness.app.inject({ method: 'HEAD', url: '/export/generated.csv?rows=5000000' })
      expect(capped.statusCode).toBe(200)
    })

    it('generates the seed chapter rows', async () => {
      const response = await harness.app.inject({ method: 'GET', url: '/export/generated.csv?rows=3' })
      expect(response.body).toBe('id,name,value\r\n0,item_0,0\r\n1,item_1,1.5\r\n2,item_2,3\r\n')
    })

    it('releases the cursor and the connection when the client hangs up after the first chunk', async () => {
      const ended = harness.nextSummary()
      await readThenAbort(`${harness.base}/export/items.csv?via=cursor`, 1)
      const summary = await ended
      expect(summary.outcome).toBe('aborted')
      expect(summary.rows).toBeLessThan(ITEMS)
      await fixture.assertReleased()
    })

    it('releases the source when a client of a compressed export hangs up, and counts it as aborted', async () => {
      const ended = harness.nextSummary()
      await readThenAbort(`${harness.base}/export/items.ndjson`, 1, 0, { 'accept-encoding': 'gzip' })
      const summary = await ended
      expect(summary.outcome).toBe('aborted')
      await fixture.assertReleased()
    })

    it('does not run ahead of a slow client (backpressure)', async () => {
      const ended = harness.nextSummary()
      const consumed = await readThenAbort(
        `${harness.base}/export/generated.csv?rows=5000000`,
        2 * 1024 * 1024,
        10,
      )
      const summary = await ended
      expect(summary.outcome).toBe('aborted')
      // Without backpressure the generator would have produced most of its ~110 MB by now;
      // with it, only what fits in the socket buffers and one stream buffer is ahead of the client.
      expect(summary.bytes).toBeLessThan(consumed + 24 * 1024 * 1024)
    })

    if (backend.name === 'postgres') {
      it('serves CSV through COPY with the same cells as the cursor path', async () => {
        const url = '/export/items.csv?category=tools'
        const copy = await harness.app.inject({ method: 'GET', url })
        const cursor = await harness.app.inject({ method: 'GET', url: `${url}&via=cursor` })
        expect(harness.summaries.at(-2)?.source).toBe('postgres-copy')
        expect(copy.statusCode).toBe(200)
        expect(parse(copy.body)).toEqual(parse(cursor.body))
        const all = await harness.app.inject({ method: 'GET', url: '/export/items.csv' })
        const cursorAll = await harness.app.inject({ method: 'GET', url: '/export/items.csv?via=cursor' })
        expect(parse(all.body)).toEqual(parse(cursorAll.body))
      })

      it.each(['copy', 'cursor'])(
        'cuts the response off and recovers when the connection dies mid-export (via=%s)',
        async (via) => {
          const admin = new pg.Client({ connectionString: POSTGRES_URL })
          await admin.connect()
          try {
            const ended = harness.nextSummary()
            const outcome = new Promise<{ complete: boolean; bytes: number }>((resolve, reject) => {
              const request = http.get(`${harness.base}/export/items.csv?via=${via}`, (response) => {
                let bytes = 0
                let killed = false
                response.on('data', (chunk: Buffer) => {
                  bytes += chunk.length
                  if (killed) return
                  killed = true
                  response.pause()
                  // Fault injection: the backend serving the cursor is terminated mid-stream.
                  void admin
                    .query(
                      `select pg_terminate_backend(pid) from pg_stat_activity
                     where application_name = $1 and state <> 'idle' and query like '%"items"%'`,
                      [fixture.applicationName],
                    )
                    .then(() => response.resume(), reject)
                })
                response.on('end', () => resolve({ complete: response.complete, bytes }))
                response.on('error', () => resolve({ complete: false, bytes }))
                response.on('aborted', () => resolve({ complete: false, bytes }))
              })
              request.on('error', () => undefined)
            })
            const { complete } = await outcome
            const summary = await ended
            expect(complete).toBe(false)
            expect(summary.outcome).toBe('failed')
            await fixture.assertReleased()
            const after = await harness.app.inject({
              method: 'GET',
              url: '/export/items.csv?via=cursor&columns=id',
            })
            expect(after.statusCode).toBe(200)
            expect(after.body.split('\r\n')).toHaveLength(ITEMS + 2)
          } finally {
            await admin.end()
          }
        },
      )

      it('cancels the COPY and discards its connection when the client hangs up', async () => {
        const ended = harness.nextSummary()
        await readThenAbort(`${harness.base}/export/items.csv?via=copy`, 1)
        const summary = await ended
        expect(summary.source).toBe('postgres-copy')
        expect(summary.outcome).toBe('aborted')
        await fixture.assertReleased()
      })
    }
  })
}
