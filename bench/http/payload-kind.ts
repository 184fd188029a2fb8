/**
 * Plain `node:http` answering `GET /items/:id` with the same item JSON sent four ways: as a string
 * or as a Buffer (`BENCH_PAYLOAD=string|buffer`), with the items' own non-ASCII text or with it
 * replaced by ASCII (`BENCH_ASCII=1`). What a route or a cache should hand Node to send: a string
 * with a character outside Latin-1 is two-byte in V8, and Node measures, joins and encodes it on
 * every send; a Buffer is written as it is.
 *
 * `BENCH_SERVICE_HEADERS=1` adds the five headers the service's cached item answer carries and a
 * bare route does not (X-Cache, Server-Timing, Cache-Control, Vary, ETag), with the same JavaScript
 * otherwise: what those headers cost Node and the kernel per response.
 */
import http from 'node:http'
import type { RunningTarget } from '../lib/target.js'
import { itemIdOf, openItemBytes } from './item-bytes.js'
import { listenPlain, runAlone } from './run-alone.js'

export async function start(port: number): Promise<RunningTarget> {
  const kind = process.env.BENCH_PAYLOAD ?? 'buffer'
  if (kind !== 'string' && kind !== 'buffer') throw new RangeError(`BENCH_PAYLOAD: ${kind}`)
  const ascii = process.env.BENCH_ASCII === '1'
  const serviceHeaders = process.env.BENCH_SERVICE_HEADERS === '1'
  const items = openItemBytes()
  const bodies = new Map<number, string | Buffer>()
  const bodyOf = (id: number): string | Buffer | undefined => {
    let body = bodies.get(id)
    if (body === undefined) {
      const bytes = items.get(id)
      if (bytes === undefined) return undefined
      let text = bytes.toString('utf8')
      // Same length in characters; every non-ASCII character becomes '?'.
      if (ascii) text = text.replace(/[^\x20-\x7e]/g, '?')
      body = kind === 'string' ? text : Buffer.from(text)
      bodies.set(id, body)
    }
    return body
  }
  const server = http.createServer((req, res) => {
    const id = req.method === 'GET' && req.url ? itemIdOf(req.url) : undefined
    const body = id === undefined ? undefined : bodyOf(id)
    if (body === undefined) {
      res.writeHead(404).end()
      return
    }
    const length = typeof body === 'string' ? Buffer.byteLength(body) : body.length
    if (serviceHeaders) {
      // As the service sends them for an L1 hit (values of the same length).
      res.writeHead(200, {
        'x-cache': 'hit-l1',
        'content-type': 'application/json; charset=utf-8',
        'server-timing': `cache;desc="hit-l1", total;dur=0.${(id as number) % 1000}`,
        'cache-control': 'public, no-cache',
        vary: 'Accept-Encoding',
        etag: `"v1-${(id as number).toString(36).padStart(8, 'l')}"`,
        'content-length': length,
      })
    } else {
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': length })
    }
    res.end(body)
  })
  return listenPlain(server, port, () => items.close())
}

runAlone(import.meta.url, start)
