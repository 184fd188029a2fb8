/**
 * A private redis-server for fault injection: started on a port of our choosing, killed, paused
 * and restarted by PID. Never the shared Redis.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'

/** How long `start()` waits for redis-server to answer PING. */
const READY_TIMEOUT_MS = 10_000

export interface ChaosRedisOptions {
  /** Port to listen on (pick it from your range; the server binds 127.0.0.1 only). */
  port: number
  /** `appendonly yes` with this fsync policy; `'off'` keeps nothing on disk. @default 'off' */
  appendfsync?: 'off' | 'always' | 'everysec'
  /** redis-server binary. @default 'redis-server' */
  binary?: string
}

/** A redis-server child process under our control. */
export class ChaosRedis {
  readonly port: number
  readonly #appendfsync: 'off' | 'always' | 'everysec'
  readonly #binary: string
  readonly #dir: string
  #child: ChildProcess | undefined

  constructor(options: ChaosRedisOptions) {
    this.port = options.port
    this.#appendfsync = options.appendfsync ?? 'off'
    this.#binary = options.binary ?? 'redis-server'
    this.#dir = mkdtempSync(path.join(tmpdir(), `hotpath-chaos-redis-${this.port}-`))
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`
  }

  get pid(): number | undefined {
    return this.#child?.pid
  }

  /** Start (or restart after {@link kill}) on the same port and wait until it answers PING. */
  async start(): Promise<void> {
    if (this.#child !== undefined) throw new Error(`redis-server on ${this.port} is already running`)
    const persistence =
      this.#appendfsync === 'off'
        ? ['--appendonly', 'no']
        : ['--appendonly', 'yes', '--appendfsync', this.#appendfsync]
    const child = spawn(
      this.#binary,
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--dir', this.#dir, ...persistence],
      { stdio: 'ignore' },
    )
    this.#child = child
    child.once('exit', () => {
      if (this.#child === child) this.#child = undefined
    })
    const deadline = Date.now() + READY_TIMEOUT_MS
    while (Date.now() < deadline) {
      if (await ping(this.port)) return
      if (child.exitCode !== null) break
      await new Promise((resolve) => setTimeout(resolve, 25))
    }
    await this.kill()
    throw new Error(`redis-server did not answer PING on 127.0.0.1:${this.port} (port taken?)`)
  }

  /** SIGKILL: no shutdown, no save; connections drop at once. */
  async kill(): Promise<void> {
    const child = this.#child
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
    // A stopped process still dies on SIGKILL; SIGCONT first keeps the exit prompt.
    child.kill('SIGCONT')
    child.kill('SIGKILL')
    await exited
    this.#child = undefined
  }

  /** SIGSTOP / SIGCONT: a server that holds its connections open and answers nothing. */
  signal(signal: 'SIGSTOP' | 'SIGCONT'): void {
    this.#child?.kill(signal)
  }

  /** Kill the server and remove its directory. */
  async destroy(): Promise<void> {
    await this.kill()
    rmSync(this.#dir, { recursive: true, force: true })
  }
}

/** True when a server on `port` answers `+PONG`. */
function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port })
    const done = (ok: boolean) => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(500, () => done(false))
    socket.once('error', () => done(false))
    socket.once('connect', () => socket.write('PING\r\n'))
    socket.once('data', (data) => done(data.toString().startsWith('+PONG')))
  })
}
