/**
 * Overhead of Hotpath's always-on diagnostics (Server-Timing, /metrics HTTP histogram + DB/cache
 * listeners, N+1 shape counting, slow-query watch, blocking detector) on a cached-style route:
 * the same app with and without them, each in its own process (autocannon runs in this one), in
 * interleaved rounds whose order rotates so machine drift hits every variant, reported as
 * requests/s ratios to `off`, median and spread.
 *
 *   npx tsx bench/profiling/overhead.ts [--rounds 6] [--duration 5] [--connections 50]
 *                                       [--variants off,all] (also: context, server-timing, metrics, profiling)
 *
 * Target (issue 7): all/off >= 0.95 requests/s. Run it alone on the machine.
 */
import { fork, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

import autocannon from 'autocannon'
import Fastify from 'fastify'

import { metricsPlugin } from '../../src/fastify/metrics.js'
import { profilingPlugin } from '../../src/fastify/profiling.js'
import { useRequestContext } from '../../src/fastify/profiling/request-context-hooks.js'
import { serverTiming, serverTimingPlugin } from '../../src/fastify/server-timing.js'

const VARIANTS = ['off', 'context', 'server-timing', 'metrics', 'profiling', 'all'] as const
type Variant = (typeof VARIANTS)[number]

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '6' },
    duration: { type: 'string', default: '5' },
    connections: { type: 'string', default: '50' },
    variants: { type: 'string', default: 'off,all' },
    serve: { type: 'string' },
  },
})

/** Child mode: serve one variant and report the port to the parent. */
async function serve(variant: Variant): Promise<void> {
  // The shape of a cache hit: the entry already holds the encoded bytes, so the route only looks
  // them up and sends them (what GET /items/:id does when cached).
  const entries = new Map<string, Buffer>()
  for (let id = 1; id <= 1_000; id++) {
    const item = { id, name: `item ${id}`, category: 'tools', price: id * 100, version: 1 }
    entries.set(String(id), Buffer.from(JSON.stringify(item)))
  }
  const app = Fastify({ logger: false })
  const all = variant === 'all'
  if (variant === 'context') useRequestContext(app)
  if (all || variant === 'server-timing') await app.register(serverTimingPlugin)
  if (all || variant === 'metrics') await app.register(metricsPlugin)
  if (all || variant === 'profiling')
    await app.register(profilingPlugin, { nPlusOne: { threshold: 10, header: false } })
  app.get<{ Params: { id: string } }>('/items/:id', async (request, reply) => {
    const started = performance.now()
    const body = entries.get(request.params.id)
    if (body === undefined)
      return reply.code(404).send({ error: { code: 'E_NOT_FOUND', message: 'no such item' } })
    serverTiming(request).add('cache', performance.now() - started, 'hit-l1')
    return reply.type('application/json').send(body)
  })
  await app.listen({ host: '127.0.0.1', port: 0 })
  const address = app.server.address()
  if (address === null || typeof address === 'string') throw new Error('not listening on TCP')
  process.send?.({ port: address.port })
  // CPU time used by this server process, asked for around each run: unlike requests/s it barely
  // depends on what else the machine is doing.
  process.on('message', (message) => {
    if (message === 'cpu') {
      const usage = process.cpuUsage()
      process.send?.({ cpuUs: usage.user + usage.system })
    }
  })
  process.on('disconnect', () => void app.close().then(() => process.exit(0)))
}

function start(variant: Variant): Promise<{ child: ChildProcess; port: number }> {
  const child = fork(fileURLToPath(import.meta.url), ['--serve', variant], { execArgv: process.execArgv })
  return new Promise((resolve, reject) => {
    child.once('message', (message) => resolve({ child, port: (message as { port: number }).port }))
    child.once('exit', (code) => reject(new Error(`${variant} server exited with ${code}`)))
  })
}

function cpuTime(child: ChildProcess): Promise<number> {
  return new Promise((resolve) => {
    const onMessage = (message: unknown) => {
      if (typeof message === 'object' && message !== null && 'cpuUs' in message) {
        child.off('message', onMessage)
        resolve((message as { cpuUs: number }).cpuUs)
      }
    }
    child.on('message', onMessage)
    child.send('cpu')
  })
}

interface Run {
  rps: number
  /** Server CPU microseconds per request. */
  cpuUsPerRequest: number
}

async function run(
  server: { child: ChildProcess; port: number },
  connections: number,
  duration: number,
): Promise<Run> {
  const before = await cpuTime(server.child)
  const { rps, total } = await measure(server.port, connections, duration)
  const after = await cpuTime(server.child)
  return { rps, cpuUsPerRequest: (after - before) / total }
}

async function measure(
  port: number,
  connections: number,
  duration: number,
): Promise<{ rps: number; total: number }> {
  let request = 0
  const result = await autocannon({
    url: `http://127.0.0.1:${port}`,
    connections,
    duration,
    requests: [
      { method: 'GET', setupRequest: (req) => ({ ...req, path: `/items/${(request++ % 1_000) + 1}` }) },
    ],
  })
  if (result.non2xx > 0 || result.errors > 0) {
    throw new Error(`errors during the run: ${result.non2xx} non-2xx, ${result.errors} errors`)
  }
  return { rps: result.requests.average, total: result.requests.total }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2
}

async function main(): Promise<void> {
  const rounds = Number(values.rounds)
  const duration = Number(values.duration)
  const connections = Number(values.connections)
  const variants = values.variants.split(',') as Variant[]
  for (const variant of variants)
    if (!VARIANTS.includes(variant)) throw new Error(`unknown variant ${variant}`)
  if (!variants.includes('off')) variants.unshift('off')

  const servers = new Map<Variant, { child: ChildProcess; port: number }>()
  try {
    for (const variant of variants) servers.set(variant, await start(variant))
    for (const variant of variants)
      await measure(servers.get(variant)!.port, connections, Math.min(duration, 3))
    const runs = new Map<Variant, Run[]>(variants.map((variant) => [variant, []]))
    for (let round = 0; round < rounds; round++) {
      // Rotate the order each round so that no variant always runs first or last.
      const order = variants.map((_, i) => variants[(i + round) % variants.length]!)
      for (const variant of order)
        runs.get(variant)!.push(await run(servers.get(variant)!, connections, duration))
    }
    const off = runs.get('off')!
    console.log(
      `\nAlways-on diagnostics overhead, GET /items/:id (cached bytes), ${connections} connections, ` +
        `${duration}s x ${rounds} rounds, Node ${process.version}`,
    )
    console.log(
      '| variant | median req/s | req/s ratio to off: median (min..max) | server CPU µs/req: median | CPU ratio to off: median (min..max) |',
    )
    console.log('|---|---|---|---|---|')
    const ratios = (variant: Variant, pick: (run: Run) => number) =>
      runs.get(variant)!.map((value, i) => pick(value) / pick(off[i]!))
    const spread = (values: number[]) =>
      `${median(values).toFixed(3)} (${Math.min(...values).toFixed(3)}..${Math.max(...values).toFixed(3)})`
    for (const variant of variants) {
      const own = runs.get(variant)!
      console.log(
        `| ${variant} | ${median(own.map((r) => r.rps)).toFixed(0)} | ${spread(ratios(variant, (r) => r.rps))} | ` +
          `${median(own.map((r) => r.cpuUsPerRequest)).toFixed(1)} | ${spread(ratios(variant, (r) => r.cpuUsPerRequest))} |`,
      )
    }
    if (runs.has('all')) {
      const rps = median(ratios('all', (r) => r.rps))
      const cpu = median(ratios('all', (r) => r.cpuUsPerRequest))
      console.log(
        `\nall/off: requests/s ${rps.toFixed(3)} (target >= 0.95: ${rps >= 0.95 ? 'met' : 'NOT met'}), ` +
          `server CPU per request ${cpu.toFixed(3)} (a saturated core would serve ${(1 / cpu).toFixed(3)}x the requests/s)`,
      )
    }
  } finally {
    for (const { child } of servers.values()) child.disconnect()
  }
}

if (values.serve !== undefined) await serve(values.serve as Variant)
else await main()
