import net from 'node:net'

/**
 * A TCP proxy to a real server that can be cut (connections destroyed, port closed: clients get
 * ECONNREFUSED) and restored on the same port: "the database is unavailable" without touching
 * the shared server.
 */
export class TcpProxy {
  readonly #targetHost: string
  readonly #targetPort: number
  readonly #sockets = new Set<net.Socket>()
  #server: net.Server | undefined
  port = 0

  constructor(targetHost: string, targetPort: number) {
    this.#targetHost = targetHost
    this.#targetPort = targetPort
  }

  async start(): Promise<void> {
    const server = net.createServer((client) => {
      const upstream = net.connect(this.#targetPort, this.#targetHost)
      for (const socket of [client, upstream]) {
        this.#sockets.add(socket)
        socket.on('close', () => this.#sockets.delete(socket))
        socket.on('error', () => {
          client.destroy()
          upstream.destroy()
        })
      }
      client.pipe(upstream).pipe(client)
    })
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(this.port, '127.0.0.1', () => resolve())
    })
    this.port = (server.address() as net.AddressInfo).port
    this.#server = server
  }

  async cut(): Promise<void> {
    const server = this.#server
    this.#server = undefined
    for (const socket of this.#sockets) socket.destroy()
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()))
  }
}
