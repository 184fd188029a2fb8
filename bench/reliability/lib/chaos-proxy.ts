/**
 * A TCP proxy that can go half-open: {@link HalfOpenProxy.freeze} stops forwarding bytes in both
 * directions while every connection stays established (no FIN, no RST), which is what a client
 * sees when a NAT entry, a firewall or a peer's host silently disappears. {@link HalfOpenProxy.thaw}
 * resumes forwarding. When the upstream closes (the server was killed), the client side is closed
 * too, so other faults pass through unchanged.
 */
import net from 'node:net'

export class HalfOpenProxy {
  readonly #targetPort: number
  readonly #targetHost: string
  readonly #sockets = new Set<net.Socket>()
  #server: net.Server | undefined
  #frozen = false
  port = 0

  constructor(targetPort: number, targetHost = '127.0.0.1') {
    this.#targetPort = targetPort
    this.#targetHost = targetHost
  }

  get frozen(): boolean {
    return this.#frozen
  }

  /** Listen on `port` (0: any free port; read {@link port} after). */
  async start(port = 0): Promise<void> {
    const server = net.createServer((client) => this.#accept(client))
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(port, '127.0.0.1', () => resolve())
    })
    this.port = (server.address() as net.AddressInfo).port
    this.#server = server
  }

  /** Stop forwarding; connections stay open and new ones are accepted but carry nothing. */
  freeze(): void {
    this.#frozen = true
    for (const socket of this.#sockets) socket.pause()
  }

  /** Forward again, including the bytes held while frozen. */
  thaw(): void {
    this.#frozen = false
    for (const socket of this.#sockets) socket.resume()
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy()
    const server = this.#server
    this.#server = undefined
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()))
  }

  #accept(client: net.Socket): void {
    const upstream = net.connect(this.#targetPort, this.#targetHost)
    const pair = [client, upstream] as const
    for (const socket of pair) {
      this.#sockets.add(socket)
      socket.setNoDelay(true)
      socket.on('close', () => {
        this.#sockets.delete(socket)
        client.destroy()
        upstream.destroy()
      })
      socket.on('error', () => undefined)
      if (this.#frozen) socket.pause()
    }
    forward(client, upstream, () => this.#frozen)
    forward(upstream, client, () => this.#frozen)
  }
}

/** Copy `from` to `to` with backpressure; while frozen, a drain must not resume reading. */
function forward(from: net.Socket, to: net.Socket, frozen: () => boolean): void {
  from.on('data', (chunk: Buffer) => {
    if (to.write(chunk)) return
    from.pause()
    to.once('drain', () => {
      if (!frozen()) from.resume()
    })
  })
}
