import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'

/** How the test upstream answers the next requests. */
export type UpstreamMode = 'ok' | 'slow-headers' | 'slow-body' | 'error' | 'huge'

/**
 * A small upstream on node:http for the upstream client's tests: `GET /rates/:currency` answers
 * JSON with an ETag and Last-Modified, honours If-None-Match with a 304, and counts every request
 * (and every conditional one) per path. `mode` injects faults; `close()`/`listen()` take it down
 * and bring it back on the same port.
 */
export class TestUpstream {
  readonly requests = new Map<string, number>()
  readonly conditional = new Map<string, number>()
  /** Sent as Cache-Control on 200 and 304 (`undefined`: none). */
  cacheControl: string | undefined = 'max-age=1'
  mode: UpstreamMode = 'ok'
  /** Version of every body; bump it to change the representation (new ETag). */
  version = 1
  #server: Server | undefined
  #port = 0
  readonly #sockets = new Set<Socket>()

  get origin(): string {
    return `http://127.0.0.1:${this.#port}`
  }

  count(path: string): number {
    return this.requests.get(path) ?? 0
  }

  countConditional(path: string): number {
    return this.conditional.get(path) ?? 0
  }

  /** Listen (again, on the same port after `close()`); a no-op while listening. */
  async listen(): Promise<void> {
    if (this.#server !== undefined) return
    const server = createServer((request, response) => this.#handle(request, response))
    server.on('connection', (socket) => {
      this.#sockets.add(socket)
      socket.on('close', () => this.#sockets.delete(socket))
    })
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(this.#port, '127.0.0.1', () => resolve())
    })
    this.#port = (server.address() as AddressInfo).port
    this.#server = server
  }

  /** Stop listening and cut every open (keep-alive) connection. */
  async close(): Promise<void> {
    const server = this.#server
    this.#server = undefined
    if (server === undefined) return
    for (const socket of this.#sockets) socket.destroy()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }

  #handle(request: IncomingMessage, response: ServerResponse): void {
    const path = request.url ?? '/'
    this.requests.set(path, this.count(path) + 1)
    const etag = `"r${this.version}"`
    if (request.headers['if-none-match'] !== undefined) {
      this.conditional.set(path, this.countConditional(path) + 1)
    }
    if (this.mode === 'error') {
      response.writeHead(503).end('down')
      return
    }
    if (this.mode === 'slow-headers') {
      // Never answers; the client's headersTimeout must fire. The socket dies with close().
      return
    }
    if (this.mode === 'slow-body') {
      // Headers and half the body, then nothing: the client's bodyTimeout must fire.
      response.writeHead(200, { 'content-type': 'application/json', 'content-length': '64' })
      response.write('{"currency":')
      return
    }
    const cacheHeaders: Record<string, string> =
      this.cacheControl === undefined ? {} : { 'cache-control': this.cacheControl }
    if (request.headers['if-none-match'] === etag) {
      response.writeHead(304, { etag, ...cacheHeaders }).end()
      return
    }
    const currency = path.split('/').pop() ?? ''
    if (!/^[A-Z]{3}$/.test(currency) || currency === 'ZZZ') {
      response.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"unknown"}')
      return
    }
    const body =
      this.mode === 'huge'
        ? JSON.stringify({ currency, pad: 'x'.repeat(64 * 1024) })
        : JSON.stringify({ currency, rate: 1 + this.version / 100, version: this.version })
    response
      .writeHead(200, {
        'content-type': 'application/json',
        etag,
        'last-modified': new Date(Date.UTC(2026, 0, this.version)).toUTCString(),
        ...cacheHeaders,
      })
      .end(body)
  }
}

/** Poll `check` until it returns true, or fail after `timeoutMs`. */
export async function until(check: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}
