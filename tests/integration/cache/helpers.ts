import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import net from 'node:net'
import { createCache, type Cache, type CacheOptions } from '../../../src/cache/index.js'
import { redisStore, type RedisStoreOptions } from '../../../src/cache/stores/redis/index.js'
import { REDIS_URL } from '../../helpers/services.js'

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

export function uniquePrefix(area: string): string {
  return `test-cache-${area}-${randomBytes(4).toString('hex')}`
}

export function latch<T = void>(): { wait: Promise<T>; open: (value: T) => void } {
  let open!: (value: T) => void
  const wait = new Promise<T>((resolve) => {
    open = resolve
  })
  return { wait, open }
}

/** A cache on its own Redis connections. */
export function redisCache(
  prefix: string,
  options: Omit<CacheOptions, 'l2' | 'prefix'> = {},
  store: RedisStoreOptions = {},
): Cache {
  return createCache({ ttlJitter: 0, ...options, prefix, l2: redisStore({ url: REDIS_URL, ...store }) })
}

/** Wait until every cache trusts its L1 (its coherence channel is up). */
export async function untilTrusted(...caches: Cache[]): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (caches.every((cache) => cache.stats().l1Trusted)) return
    await sleep(10)
  }
  throw new Error('caches never became trusted: is the coherence channel up?')
}

export async function freePort(): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 20_000)
    const free = await new Promise<boolean>((resolve) => {
      const server = net.createServer()
      server.once('error', () => resolve(false))
      server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)))
    })
    if (free) return port
  }
}

/** A throwaway redis-server on a random port (no persistence), controlled by PID. */
export class DedicatedRedis {
  port = 0
  #process: ChildProcess | undefined

  get url(): string {
    return `redis://127.0.0.1:${this.port}`
  }

  async start(port?: number): Promise<void> {
    this.port = port ?? (this.port === 0 ? await freePort() : this.port)
    const child = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      {
        stdio: 'ignore',
      },
    )
    this.#process = child
    for (let i = 0; i < 200; i++) {
      const up = await new Promise<boolean>((resolve) => {
        const socket = net.connect({ host: '127.0.0.1', port: this.port }, () => {
          socket.destroy()
          resolve(true)
        })
        socket.once('error', () => resolve(false))
      })
      if (up) return
      await sleep(25)
    }
    throw new Error(`redis-server did not start on port ${this.port}`)
  }

  signal(signal: NodeJS.Signals): void {
    if (this.#process?.pid !== undefined) process.kill(this.#process.pid, signal)
  }

  async kill(): Promise<void> {
    const child = this.#process
    if (child === undefined || child.exitCode !== null) return
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
    child.kill('SIGKILL')
    await exited
    this.#process = undefined
  }
}
