/**
 * One L2 read path in a loop, for CPU profiles of that path alone:
 *
 *   node --cpu-prof --cpu-prof-dir=/tmp/prof --import tsx bench/cache/l2-loop.ts hotpath|raw [item|page] [seconds]
 *   npx tsx bench/cache/l2-loop.ts ab [item|page] [rounds]
 *
 * `hotpath`: 50 concurrent `get`s with L1 off (the cache-ops L2 section); `raw`: the same through
 * node-redis GET + msgpackr decode. Prints batches/s and this process's CPU time per batch, which
 * a busy machine disturbs far less than throughput. `ab`: both, in interleaved 500 ms blocks.
 */
import { randomBytes } from 'node:crypto'
import { createClient, RESP_TYPES } from 'redis'
import { createCache, msgpackCodec } from '../../src/cache/index.js'
import { redisStore } from '../../src/cache/stores/redis/index.js'
import { ITEM, PAGE } from './payloads.js'

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
const PREFIX = `bench-l2loop-${randomBytes(4).toString('hex')}`
const [mode = 'hotpath', which = 'item', seconds = '5'] = process.argv.slice(2)
const payload = which === 'page' ? PAGE : ITEM
// WARM_ITEM=1: 3 s of Hotpath item gets first (what cache-ops does before its page rows).
if (process.env.WARM_ITEM) {
  const warm = createCache({
    l1: false,
    prefix: PREFIX + 'w',
    ttl: 600_000,
    l2: redisStore({ url: REDIS_URL }),
  })
  const wk = Array.from({ length: 50 }, (_, i) => `w:${i}`)
  for (const k of wk) await warm.set(k, ITEM)
  const until = Date.now() + 3000
  while (Date.now() < until) await Promise.all(wk.map((k) => warm.get(k)))
  await warm.close()
}
const keys = Array.from({ length: 50 }, (_, i) => `l2:${i}`)
let sink: unknown

const hotpath = createCache({ l1: false, prefix: PREFIX, ttl: 600_000, l2: redisStore({ url: REDIS_URL }) })
const coherence: string[] = []
hotpath.on('coherence', (event) => coherence.push(event.state))
const errors = new Map<string, number>()
hotpath.on('error', (event) => {
  const m = `${event.operation}: ${String((event.error as Error).message).slice(0, 80)}`
  errors.set(m, (errors.get(m) ?? 0) + 1)
})
const raw = createClient({ url: REDIS_URL })
await raw.connect()
const rawBuffers = raw.withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer })
const codec = msgpackCodec()
const rawKeys = keys.map((k) => `${PREFIX}:raw:${k}`)
for (let i = 0; i < keys.length; i++) {
  await hotpath.set(keys[i] as string, payload)
  await raw.set(rawKeys[i] as string, codec.encode(payload))
}
const tasks = {
  raw: async () => {
    const replies = await Promise.all(rawKeys.map((k) => rawBuffers.get(k)))
    sink = replies.map((reply) => codec.decode(reply as unknown as Buffer))
  },
  hotpath: async () => {
    sink = await Promise.all(keys.map((k) => hotpath.get(k)))
  },
}

/** Run one task for `ms`: batches per second of wall time and CPU microseconds of this process per batch. */
async function block(name: keyof typeof tasks, ms: number): Promise<{ rate: number; cpu: number }> {
  const task = tasks[name]
  const cpu = process.cpuUsage()
  const start = performance.now()
  let batches = 0
  while (performance.now() - start < ms) {
    await task()
    batches++
  }
  const used = process.cpuUsage(cpu)
  return { rate: (batches * 1000) / (performance.now() - start), cpu: (used.user + used.system) / batches }
}

if (mode === 'ab') {
  // Interleaved blocks; per block pair the ratios hotpath/raw of throughput and of CPU per batch.
  const rates: number[] = []
  const cpus: number[] = []
  for (let round = 0; round < Number(seconds); round++) {
    const first = round % 2 === 0 ? 'raw' : 'hotpath'
    const a = await block(first, 500)
    const b = await block(first === 'raw' ? 'hotpath' : 'raw', 500)
    const [raw, hp] = first === 'raw' ? [a, b] : [b, a]
    rates.push(hp.rate / raw.rate)
    cpus.push(raw.cpu / hp.cpu)
  }
  const med = (v: number[]) => [...v].sort((x, y) => x - y)[Math.floor(v.length / 2)] as number
  const fmt = (v: number[]) =>
    `median ${med(v).toFixed(2)}x (${Math.min(...v).toFixed(2)}-${Math.max(...v).toFixed(2)})`
  console.log(errors, hotpath.stats().l2)
  console.log(`${which}: hotpath/raw throughput ${fmt(rates)}; raw/hotpath CPU per batch ${fmt(cpus)}`)
} else {
  const result = await block(mode === 'raw' ? 'raw' : 'hotpath', Number(seconds) * 1000)
  console.log(
    `${mode} ${which}: ${Math.round(result.rate)} batches/s, ${Math.round(result.cpu)} us CPU/batch`,
    coherence.join(','),
  )
}
await raw.del(rawKeys)
const cleaner = redisStore({ url: REDIS_URL }).factory()
await cleaner.connect()
await cleaner.clearPrefix(PREFIX)
cleaner.close()
await raw.close()
await hotpath.close()
void sink
process.exit(0)
