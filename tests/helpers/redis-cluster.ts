/**
 * A throwaway Redis Cluster for integration tests: three masters (no replicas) started with
 * `redis-server --cluster-enabled yes`, joined with `redis-cli --cluster create`, stopped by PID.
 *
 * @example
 * let cluster: RedisClusterProcess
 * beforeAll(async () => { cluster = await startRedisCluster({ ports: [7100, 7101, 7102] }) })
 * afterAll(() => cluster?.stop())
 * // cluster.url === 'redis+cluster://127.0.0.1:7100,127.0.0.1:7101,127.0.0.1:7102'
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)

export interface RedisClusterProcess {
  /** The seed URL Hotpath accepts: `redis+cluster://127.0.0.1:P1,127.0.0.1:P2,…`. */
  readonly url: string
  readonly ports: readonly number[]
  /** Run `redis-cli -p <port> <args>` against one node (default user) and return its output. */
  cli(port: number, ...args: string[]): Promise<string>
  /** Kill every node (SIGKILL, by PID) and delete the temp dir. Idempotent. */
  stop(): Promise<void>
}

export interface StartRedisClusterOptions {
  /** Three or more free ports; pick them in your brief's range. */
  ports: readonly number[]
  /** Longest wait for `cluster_state:ok` on every node. @default 20000 */
  timeoutMs?: number
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port }, () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
}

/** Start the nodes, create the cluster and wait until every node reports `cluster_state:ok`. */
export async function startRedisCluster(options: StartRedisClusterOptions): Promise<RedisClusterProcess> {
  const { ports } = options
  if (ports.length < 3) throw new Error('a Redis Cluster needs at least 3 masters')
  for (const port of ports) {
    if (await listening(port))
      throw new Error(`port ${port} is already in use: pick free ports for the cluster`)
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hotpath-cluster-'))
  const children: ChildProcess[] = []
  let stopped = false
  const cli = async (port: number, ...args: string[]) =>
    (await run('redis-cli', ['-p', String(port), ...args], { timeout: 10_000 })).stdout
  const stop = async () => {
    if (stopped) return
    stopped = true
    await Promise.all(
      children.map((child) => {
        if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return undefined
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
        process.kill(child.pid, 'SIGKILL')
        return exited
      }),
    )
    rmSync(dir, { recursive: true, force: true })
  }
  try {
    for (const port of ports) {
      const child = spawn(
        'redis-server',
        [
          '--port',
          String(port),
          '--bind',
          '127.0.0.1',
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          path.join(dir, `nodes-${port}.conf`),
          '--dir',
          dir,
          '--save',
          '',
          '--appendonly',
          'no',
          '--daemonize',
          'no',
        ],
        { stdio: 'ignore' },
      )
      children.push(child)
    }
    const deadline = Date.now() + (options.timeoutMs ?? 20_000)
    for (const port of ports) {
      while (!(await listening(port))) {
        if (Date.now() > deadline) throw new Error(`redis-server did not start on port ${port}`)
        await sleep(20)
      }
    }
    await run(
      'redis-cli',
      [
        '--cluster',
        'create',
        ...ports.map((port) => `127.0.0.1:${port}`),
        '--cluster-replicas',
        '0',
        '--cluster-yes',
      ],
      { timeout: 20_000 },
    )
    for (const port of ports) {
      while (!(await cli(port, 'cluster', 'info')).includes('cluster_state:ok')) {
        if (Date.now() > deadline) throw new Error(`cluster_state is not ok on port ${port}`)
        await sleep(50)
      }
    }
  } catch (error) {
    await stop()
    throw error
  }
  return {
    url: `redis+cluster://${ports.map((port) => `127.0.0.1:${port}`).join(',')}`,
    ports,
    cli,
    stop,
  }
}
