/**
 * Ceiling: plain `node:http` writing precomputed JSON bytes for `GET /items/:id`. No framework,
 * no validation, no serialization: the fastest this process can answer.
 */
import http from 'node:http'
import type { RunningTarget } from '../lib/target.js'
import { itemIdOf, openItemBytes } from './item-bytes.js'
import { listenPlain, runAlone } from './run-alone.js'

const NOT_FOUND = Buffer.from('{"error":{"code":"E_NOT_FOUND","message":"no such item"}}')

export async function start(port: number): Promise<RunningTarget> {
  const items = openItemBytes()
  const server = http.createServer((req, res) => {
    const id = req.method === 'GET' && req.url ? itemIdOf(req.url) : undefined
    const body = id === undefined ? undefined : items.get(id)
    if (body === undefined) {
      res.writeHead(404, {
        'content-type': 'application/json; charset=utf-8',
        'content-length': NOT_FOUND.length,
      })
      res.end(NOT_FOUND)
      return
    }
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': body.length })
    res.end(body)
  })
  return listenPlain(server, port, () => items.close())
}

runAlone(import.meta.url, start)
