/**
 * Start a bench target in its own process on a free loopback port and wait until it listens.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import net from 'node:net'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { readProcCpu } from '../../src/bench/index.js'

const HERE = path.dirname(fileURLToPath(import.meta.url))
/** The repository root (this file may run from `bench/lib` or from `.bench-build/bench/lib`). */
const ROOT = path.resolve(HERE, HERE.includes(`${path.sep}.bench-build${path.sep}`) ? '../../..' : '../..')
/** Where `tsconfig.bench.json` compiles the repository for the `compiled` runtime. */
const BUILD_DIR = path.join(ROOT, '.bench-build')
const READY_TIMEOUT_MS = 60_000

/**
 * How a target's TypeScript runs:
 * - `compiled` (the default): JavaScript emitted by `tsc -p tsconfig.bench.json`, as `npm start`
 *   runs the service from `dist/`. The peers' packages are compiled JavaScript too.
 * - `tsx`: transpiled on load. tsx compiles with esbuild's `keepNames`, which wraps every named
 *   function and closure in a `__name(fn, "name")` call (an `Object.defineProperty`) each time it
 *   is created, a cost compiled code does not pay. The `runtime` group compares the two; on the
 *   2-vCPU VM the difference was within noise.
 */
export type TargetRuntime = 'compiled' | 'tsx'

let compiling: Promise<void> | undefined

/** Compile the repository into `.bench-build/` once per process (incremental: fast when unchanged). */
export function compileTargets(): Promise<void> {
  compiling ??= promisify(execFile)(
    process.execPath,
    [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', path.join(ROOT, 'tsconfig.bench.json')],
    { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 },
  ).then(
    () => undefined,
    (error: { stdout?: string; message: string }) => {
      throw new Error(`tsc -p tsconfig.bench.json failed: ${error.stdout || error.message}`)
    },
  )
  return compiling
}

/** The compiled counterpart of a `.ts` file of the repository. */
function compiledPath(file: string): string {
  const relative = path.relative(ROOT, path.resolve(file))
  if (relative.startsWith('..') || !relative.endsWith('.ts')) {
    throw new Error(`${file} is not a TypeScript file of the repository; run it with runtime 'tsx'`)
  }
  return path.join(BUILD_DIR, relative.replace(/\.ts$/, '.js'))
}

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

/**
 * Spawn `module`'s `start(port)` in a child process and wait for it to listen. `module` is a `.ts`
 * file; it runs compiled unless `runtime` is `'tsx'` (see {@link TargetRuntime}).
 */
export async function spawnTarget(
  module: string,
  options: {
    exportName?: string
    env?: Record<string, string>
    runtime?: TargetRuntime
    /** Options of the target's `node` (e.g. `--cpu-prof`). @default [] */
    nodeArgs?: readonly string[]
  } = {},
): Promise<SpawnedTarget> {
  const serveTarget = path.join(ROOT, 'bench/lib/serve-target.ts')
  let args: string[]
  if ((options.runtime ?? 'compiled') === 'compiled') {
    await compileTargets()
    args = [compiledPath(serveTarget), compiledPath(module)]
  } else {
    args = ['--import', 'tsx', serveTarget, module]
  }
  const port = await freePort()
  const child: ChildProcess = spawn(
    process.execPath,
    [...(options.nodeArgs ?? []), ...args, String(port), options.exportName ?? 'start'],
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
