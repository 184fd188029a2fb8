import type { IncomingHttpHeaders } from 'node:http'
import type autocannon from 'autocannon'
import { BenchEngineError } from '../../errors.js'
import { summarizeClientCpu } from '../cpu.js'
import { createRequestPlan } from '../request-plan.js'
import { createServerFactsCollector } from '../server-facts.js'
import { LatencyRecorder } from '../stats.js'
import type { BenchEngine, EngineRunOptions, EngineRunResult } from './engine.js'

interface RequestContext {
  path?: string
}

/**
 * Drive load with autocannon's programmatic API, in this process. Latencies are recorded at full
 * resolution from autocannon's response events (its own histogram rounds to whole milliseconds,
 * which hides everything a cache does). Client CPU is this process's CPU time during the run, so a
 * server started in the same process (as in tests) is counted as client: run servers elsewhere.
 */
export const autocannonEngine: BenchEngine = {
  name: 'autocannon',
  async run(options: EngineRunOptions): Promise<EngineRunResult> {
    const autocannon = await loadAutocannon()
    const plan = createRequestPlan(options.scenario)
    const facts = createServerFactsCollector()
    const latencies = new LatencyRecorder()
    // With pipelining, a response cannot be tied to the request that drew its path.
    const trackEtags = options.pipelining === 1
    const statusCodes: Record<string, number> = {}
    let bytes = 0
    const request: autocannon.Request = {
      setupRequest(req: autocannon.Request, context: object) {
        const planned = plan.next()
        const headers: Record<string, string> = { ...planned.headers }
        if (planned.replayEtag) {
          const etag = options.etags.get(planned.path)
          if (etag !== undefined) headers['if-none-match'] = etag
        }
        ;(context as RequestContext).path = planned.path
        return {
          ...req,
          method: planned.method as autocannon.Request['method'],
          path: planned.path,
          headers,
          body: planned.body ?? undefined,
        } as autocannon.Request
      },
      onResponse(status: number, _body: string, context: object, headers: IncomingHttpHeaders | undefined) {
        if (headers === undefined) return
        if (options.serverFacts)
          facts.record(headerValue(headers, 'x-cache'), headerValue(headers, 'server-timing'))
        if (trackEtags && status === 200) {
          const etag = headerValue(headers, 'etag')
          const path = (context as RequestContext).path
          if (etag !== undefined && path !== undefined) options.etags.set(path, etag)
        }
      },
    }
    const cpuBefore = process.cpuUsage()
    const started = performance.now()
    let instance: autocannon.Instance
    const done = new Promise<autocannon.Result>((resolve, reject) => {
      try {
        instance = autocannon(
          {
            url: options.origin,
            connections: options.connections,
            duration: options.durationMs / 1_000,
            pipelining: options.pipelining,
            timeout: options.timeoutMs / 1_000,
            ...(options.rate === null ? {} : { overallRate: options.rate }),
            requests: [request],
          },
          (error, result) => (error ? reject(error) : resolve(result)),
        )
      } catch (error) {
        reject(error)
      }
    })
    // `instance` is assigned synchronously by the executor above.
    const tracker = instance!
    tracker.on('response', (_client: unknown, statusCode: number, resBytes: number, responseTime: number) => {
      latencies.record(responseTime)
      statusCodes[statusCode] = (statusCodes[statusCode] ?? 0) + 1
      bytes += resBytes
    })
    const ticker = setInterval(() => options.onProgress?.(performance.now() - started, latencies.count), 250)
    const abort = () => tracker.stop()
    options.signal?.addEventListener('abort', abort, { once: true })
    let result: autocannon.Result
    try {
      result = await done
    } catch (error) {
      throw new BenchEngineError(
        'autocannon',
        `run against ${options.origin} failed: ${(error as Error).message}`,
        {
          cause: error,
        },
      )
    } finally {
      clearInterval(ticker)
      options.signal?.removeEventListener('abort', abort)
    }
    const durationMs = performance.now() - started
    const cpu = process.cpuUsage(cpuBefore)
    const cpuMs = (cpu.user + cpu.system) / 1_000
    const responses = latencies.count
    let http = 0
    for (const [code, count] of Object.entries(statusCodes)) if (Number(code) >= 400) http += count
    const other = Math.max(0, result.errors - result.timeouts)
    const summary = facts.summary()
    const timing: Record<string, { sum: number; count: number }> = {}
    for (const [name, { avgMs, count }] of Object.entries(summary.timing))
      timing[name] = { sum: avgMs * count, count }
    return {
      durationMs,
      responses,
      bytes,
      latency: latencies.summary(),
      statusCodes,
      errors: { http, timeouts: result.timeouts, resets: result.resets, other },
      cacheValues: summary.cacheValues,
      timing,
      client: summarizeClientCpu(cpuMs, durationMs, responses, 'process.cpuUsage'),
    }
  },
}

/** autocannon is loaded on first use, so that `hotpath` starts (and wrk works) without it. */
async function loadAutocannon(): Promise<typeof autocannon> {
  try {
    return (await import('autocannon')).default
  } catch (error) {
    throw new BenchEngineError(
      'autocannon',
      'is not installed: npm install --save-dev autocannon, or use --engine wrk',
      {
        cause: error,
      },
    )
  }
}

function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name] ?? headers[name.toUpperCase()] ?? findHeader(headers, name)
  return Array.isArray(value) ? value.join(', ') : value
}

function findHeader(headers: IncomingHttpHeaders, name: string): string | string[] | undefined {
  for (const key of Object.keys(headers)) if (key.toLowerCase() === name) return headers[key]
  return undefined
}
