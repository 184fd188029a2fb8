import { spawn, type ChildProcess } from 'node:child_process'
import net from 'node:net'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

async function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer()
    server.once('error', () => resolve(false))
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)))
  })
}

/** A throwaway redis-server on a random port in 20000-40000 (no persistence), controlled by its PID. */
export class DedicatedRedis {
  port = 0
  #process: ChildProcess | undefined

  get url(): string {
    return `redis://127.0.0.1:${this.port}`
  }

  async start(): Promise<void> {
    while (this.port === 0) {
      const candidate = 20_000 + Math.floor(Math.random() * 20_000)
      if (await isFree(candidate)) this.port = candidate
    }
    this.#process = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { stdio: 'ignore' },
    )
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
