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
  process.on('disconnect', () => void app.close().then(() => process.exit(0)))
}

function start(variant: Variant): Promise<{ child: ChildProcess; port: number }> {
  const child = fork(fileURLToPath(import.meta.url), ['--serve', variant], { execArgv: process.execArgv })
  return new Promise((resolve, reject) => {
    child.once('message', (message) => resolve({ child, port: (message as { port: number }).port }))
    child.once('exit', (code) => reject(new Error(`${variant} server exited with ${code}`)))
  })
}

async function measure(port: number, connections: number, duration: number): Promise<number> {
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
  return result.requests.average
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
    const rps = new Map<Variant, number[]>(variants.map((variant) => [variant, []]))
    for (let round = 0; round < rounds; round++) {
      // Rotate the order each round so that no variant always runs first or last.
      const order = variants.map((_, i) => variants[(i + round) % variants.length]!)
      for (const variant of order)
        rps.get(variant)!.push(await measure(servers.get(variant)!.port, connections, duration))
    }
    const off = rps.get('off')!
    console.log(
      `\nAlways-on diagnostics overhead, GET /items/:id (cached bytes), ${connections} connections, ` +
        `${duration}s x ${rounds} rounds, Node ${process.version}`,
    )
    console.log('| variant | median req/s | ratio to off: median | spread (min..max) |')
    console.log('|---|---|---|---|')
    for (const variant of variants) {
      const ratios = rps.get(variant)!.map((value, i) => value / off[i]!)
      console.log(
        `| ${variant} | ${median(rps.get(variant)!).toFixed(0)} | ${median(ratios).toFixed(3)} | ` +
          `${Math.min(...ratios).toFixed(3)}..${Math.max(...ratios).toFixed(3)} |`,
      )
    }
    if (rps.has('all')) {
      const ratio = median(rps.get('all')!.map((value, i) => value / off[i]!))
      console.log(
        `\nall/off median ${ratio.toFixed(3)} (target >= 0.95: ${ratio >= 0.95 ? 'met' : 'NOT met'})`,
      )
    }
  } finally {
    for (const { child } of servers.values()) child.disconnect()
  }
}

if (values.serve !== undefined) await serve(values.serve as Variant)
else await main()
