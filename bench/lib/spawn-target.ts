/**
 * Start a bench target in its own process on a free loopback port and wait until it listens.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import net from 'node:net'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { readProcCpu } from '../../src/bench/index.js'

const SERVE_TARGET = path.join(path.dirname(fileURLToPath(import.meta.url)), 'serve-target.ts')
const READY_TIMEOUT_MS = 60_000

/** A target running in a child process. */
export interface SpawnedTarget {
  readonly url: string
  readonly port: number
  readonly pid: number
  /** CPU time (ms) the server process has used so far, or null off Linux. */
  cpuMs(): number | null
  stop(): Promise<void>
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo
      server.close(() => resolve(port))
    })
  })
}

/** Spawn `module`'s `start(port)` in a child process (via tsx) and wait for it to listen. */
export async function spawnTarget(
  module: string,
  options: { exportName?: string; env?: Record<string, string> } = {},
): Promise<SpawnedTarget> {
  const port = await freePort()
  const child: ChildProcess = spawn(
    process.execPath,
    ['--import', 'tsx', SERVE_TARGET, module, String(port), options.exportName ?? 'start'],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_ENV: 'production', ...options.env } },
  )
  let stderr = ''
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
  await new Promise<void>((resolve, reject) => {
    let stdout = ''
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`${module} did not print READY within ${READY_TIMEOUT_MS} ms.\n${stderr}`))
    }, READY_TIMEOUT_MS)
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk
      if (stdout.includes(`READY ${port}`)) {
        clearTimeout(timer)
        resolve()
      }
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`${module} exited with ${code} before listening.\n${stderr}`))
    })
  })
  const pid = child.pid as number
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    pid,
    cpuMs: () => readProcCpu(pid)?.selfMs ?? null,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve()
        const force = setTimeout(() => child.kill('SIGKILL'), 5_000)
        child.once('exit', () => {
          clearTimeout(force)
          resolve()
        })
        child.kill('SIGTERM')
      }),
  }
}
