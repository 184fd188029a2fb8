import { spawn } from 'node:child_process'
import { accessSync, constants } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { BenchEngineError } from '../../errors.js'
import { readProcCpu, summarizeClientCpu } from '../cpu.js'
import { DEFAULT_WRK_PATH, DEFAULT_WRK_SEQUENCE_LENGTH, REPORTED_PERCENTILES } from '../defaults.js'
import { createRequestPlan, type PlannedRequest } from '../request-plan.js'
import type { ClientCpu } from '../result.js'
import type { BenchEngine, EngineRunOptions, EngineRunResult } from './engine.js'
import { createWrkScript, parseWrkOutput } from './wrk-script.js'

/**
 * Find the wrk binary: `explicit`, then `/usr/bin/wrk`, then every directory of `PATH`.
 * Returns null when wrk is not installed.
 */
export function detectWrk(explicit?: string): string | null {
  const candidates = explicit
    ? [explicit]
    : [
        DEFAULT_WRK_PATH,
        ...(process.env.PATH ?? '').split(path.delimiter).map((dir) => path.join(dir, 'wrk')),
      ]
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK)
      return candidate
    } catch {
      // not here; try the next one
    }
  }
  return null
}

/** Options of {@link createWrkEngine}. */
export interface WrkEngineOptions {
  /** Path of the wrk binary. @default detected (`/usr/bin/wrk`, then `PATH`) */
  wrkPath?: string
  /** Requests pre-sampled for the Lua script. @default 20_000 */
  sequenceLength?: number
}

/**
 * Drive load with wrk (a C load generator that costs about a quarter of autocannon's CPU per
 * request) through a generated Lua script. The key sequence is sampled here, with the same
 * seeded samplers as autocannon, and baked into the script; `If-None-Match` values come from
 * ETags seen before the run (priming and warm-up), since wrk cannot tie a response to its request.
 * Client CPU is wrk's own CPU time, read from `/proc` when the child has exited.
 * wrk counts time in whole seconds: durations (and warm-ups) are rounded to the nearest second, at
 * least one; the result reports the duration wrk actually measured.
 */
export function createWrkEngine(options: WrkEngineOptions = {}): BenchEngine {
  const sequenceLength = options.sequenceLength ?? DEFAULT_WRK_SEQUENCE_LENGTH
  return {
    name: 'wrk',
    async run(run: EngineRunOptions): Promise<EngineRunResult> {
      const wrk = detectWrk(options.wrkPath)
      if (wrk === null) {
        throw new BenchEngineError(
          'wrk',
          'not installed (looked in /usr/bin and PATH); apt-get install wrk, or use --engine autocannon',
        )
      }
      if (run.rate !== null) {
        throw new BenchEngineError(
          'wrk',
          'has no rate limit (that is wrk2); drop --rate or use --engine autocannon',
        )
      }
      const plan = createRequestPlan(run.scenario)
      const sequence: PlannedRequest[] = Array.from({ length: sequenceLength }, () => plan.next())
      const origin = new URL(run.origin)
      const script = createWrkScript({
        sequence,
        host: origin.host,
        pipelining: run.pipelining,
        serverFacts: run.serverFacts,
        etags: run.etags,
      })
      const dir = await mkdtemp(path.join(tmpdir(), 'hotpath-wrk-'))
      const scriptPath = path.join(dir, 'scenario.lua')
      await writeFile(scriptPath, script)
      const threads = Math.max(1, Math.min(run.threads, run.connections))
      const seconds = Math.max(1, Math.round(run.durationMs / 1_000))
      const args = [
        '-t',
        String(threads),
        '-c',
        String(run.connections),
        '-d',
        `${seconds}s`,
        '--timeout',
        `${Math.max(1, Math.ceil(run.timeoutMs / 1_000))}s`,
        '-s',
        scriptPath,
        `${origin.origin}/`,
      ]
      try {
        const outcome = await spawnWrk(wrk, args, seconds * 1_000, run)
        const summary = parseWrkOutput(outcome.stdout)
        if (summary === null) {
          throw new BenchEngineError(
            'wrk',
            `exited with ${outcome.code} without a summary.\n${outcome.stderr.trim()}\n${outcome.stdout.trim()}`.trim(),
          )
        }
        const durationMs = summary.duration_us / 1_000
        const responses = summary.requests
        const percentiles = summary.latency_us.percentiles
        const ms = (p: number) => (percentiles[String(p)] ?? 0) / 1_000
        const statusCodes: Record<string, number> = {}
        for (const [code, count] of Object.entries(summary.statuses)) statusCodes[code] = Math.round(count)
        let http = summary.errors.status
        if (Object.keys(statusCodes).length > 0) {
          http = 0
          for (const [code, count] of Object.entries(statusCodes)) if (Number(code) >= 400) http += count
        }
        const timing: Record<string, { sum: number; count: number }> = {}
        for (const [name, sum] of Object.entries(summary.timing_sum)) {
          timing[name] = { sum, count: summary.timing_count[name] ?? 0 }
        }
        const client: ClientCpu = summarizeClientCpu(
          outcome.cpuMs,
          durationMs,
          responses,
          outcome.cpuMethod,
          threads,
        )
        return {
          durationMs,
          responses,
          bytes: summary.bytes,
          latency: {
            avg: summary.latency_us.mean / 1_000,
            stdev: summary.latency_us.stdev / 1_000,
            p50: ms(50),
            p90: ms(90),
            p99: ms(99),
            p999: ms(99.9),
            max: summary.latency_us.max / 1_000,
            percentiles: REPORTED_PERCENTILES.map((p) => ({ p, ms: ms(p) })),
          },
          statusCodes,
          errors: {
            http,
            timeouts: summary.errors.timeout,
            resets: summary.errors.read + summary.errors.write,
            other: summary.errors.connect,
          },
          cacheValues: Object.fromEntries(Object.entries(summary.xcache).map(([k, v]) => [k, Math.round(v)])),
          timing,
          client,
        }
      } finally {
        await rm(dir, { recursive: true, force: true })
      }
    },
  }
}

interface WrkOutcome {
  code: number | null
  stdout: string
  stderr: string
  cpuMs: number
  cpuMethod: ClientCpu['method']
}

function spawnWrk(
  wrk: string,
  args: string[],
  expectedMs: number,
  run: EngineRunOptions,
): Promise<WrkOutcome> {
  return new Promise((resolve, reject) => {
    const before = readProcCpu('self')
    const child = spawn(wrk, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    let sampledMs = 0
    const started = performance.now()
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
    const ticker = setInterval(() => {
      const sample = child.pid === undefined ? null : readProcCpu(child.pid)
      if (sample !== null) sampledMs = sample.selfMs
      run.onProgress?.(Math.min(performance.now() - started, expectedMs), 0)
    }, 250)
    const abort = () => child.kill('SIGINT')
    run.signal?.addEventListener('abort', abort, { once: true })
    child.once('error', (error) => {
      clearInterval(ticker)
      reject(new BenchEngineError('wrk', `could not start ${wrk}: ${error.message}`, { cause: error }))
    })
    child.once('close', (code) => {
      clearInterval(ticker)
      run.signal?.removeEventListener('abort', abort)
      const after = readProcCpu('self')
      // cutime of this process grows by exactly the reaped child's CPU; sampling is the fallback.
      const reaped = before !== null && after !== null ? after.childrenMs - before.childrenMs : 0
      const cpuMethod = reaped > 0 ? '/proc cutime' : '/proc sampling'
      resolve({ code, stdout, stderr, cpuMs: reaped > 0 ? reaped : sampledMs, cpuMethod })
    })
  })
}
