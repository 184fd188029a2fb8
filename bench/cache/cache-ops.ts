/**
 * Cache operations, in process, same run, same payloads: Hotpath vs BentoCache vs cache-manager 7
 * (+ Keyv Redis) vs a bare `Map` in an async function vs raw node-redis GET + decode.
 *
 *   npx tsx bench/cache/cache-ops.ts [--quick] [--rounds=N] [--only=l1,l2,set]   (Redis at $REDIS_URL or 127.0.0.1:6379)
 *
 * Sections: L1 hit get / getOrSet; L2 hit with L1 off at 50 operations in flight; set through
 * both tiers. Prints Markdown tables (median ops/s and spread over interleaved rounds) and the
 * ratios the issue's targets are stated in. BentoCache's Redis driver needs `ioredis`; when it is
 * not installed the BentoCache Redis rows are reported as missing.
 */
import { randomBytes } from 'node:crypto'
import KeyvRedis from '@keyv/redis'
import { BentoCache, bentostore } from 'bentocache'
import { memoryDriver } from 'bentocache/drivers/memory'
import { createCache as createCacheManager } from 'cache-manager'
import { Keyv } from 'keyv'
import { createClient, RESP_TYPES } from 'redis'
import { createCache, msgpackCodec } from '../../src/cache/index.js'
import { redisStore } from '../../src/cache/stores/redis/index.js'
import { WRITE_SCRIPT } from '../../src/cache/stores/redis/scripts.js'
import { ITEM, PAGE } from './payloads.js'
import { ratio, roundOptions, runRounds, table } from './rounds.js'

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
const PREFIX = `bench-cache-${randomBytes(4).toString('hex')}`
const IN_FLIGHT = 50
const options = roundOptions(process.argv)
const TTL = 10 * 60_000

type BentoLike = {
  get(o: { key: string }): Promise<unknown>
  getOrSet(o: { key: string; factory: () => unknown; ttl?: number }): Promise<unknown>
  set(o: { key: string; value: unknown; ttl?: number }): Promise<unknown>
  disconnectAll(): Promise<void>
}

async function bentoWithRedis(): Promise<BentoLike | string> {
  try {
    const { redisDriver, redisBusDriver } = await import('bentocache/drivers/redis')
    const connection = { host: '127.0.0.1', port: Number(new URL(REDIS_URL).port || 6379) }
    return new BentoCache({
      default: 'tiered',
      prefix: `${PREFIX}-bento`,
      stores: {
        tiered: bentostore()
          .useL1Layer(memoryDriver({ maxSize: '100mb' }))
          .useL2Layer(redisDriver({ connection }))
          .useBus(redisBusDriver({ connection })),
      },
    }) as unknown as BentoLike
  } catch (error) {
    return `BentoCache + Redis unavailable (${(error as Error).message.split('\n')[0]}); install ioredis to include it`
  }
}

function bentoMemory(): BentoLike {
  return new BentoCache({
    default: 'memory',
    stores: { memory: bentostore().useL1Layer(memoryDriver({ maxSize: '100mb' })) },
  }) as unknown as BentoLike
}

const notes: string[] = []
let sink: unknown

// ------------------------------------------------------------------ L1 hit
async function l1Section(payload: unknown, label: string): Promise<void> {
  const hotpath = createCache({ ttl: TTL })
  const tiered = createCache({ ttl: TTL, prefix: PREFIX, l2: redisStore({ url: REDIS_URL }) })
  const bento = bentoMemory()
  const manager = createCacheManager({ ttl: TTL })
  const map = new Map<string, unknown>()
  const key = 'items:42'
  await hotpath.set(key, payload)
  await tiered.set(key, payload)
  for (let i = 0; i < 100 && !tiered.stats().l1Trusted; i++)
    await new Promise((resolve) => setTimeout(resolve, 10))
  await bento.set({ key, value: payload, ttl: TTL })
  await manager.set(key, payload, TTL)
  map.set(key, payload)
  const getMap = async (k: string) => map.get(k)
  const loader = () => payload
  const samples = await runRounds(
    {
      'Map in async fn': async () => {
        sink = await getMap(key)
      },
      'Hotpath get': async () => {
        sink = await hotpath.get(key)
      },
      'Hotpath getOrSet': async () => {
        sink = await hotpath.getOrSet(key, loader)
      },
      'Hotpath get (L1 + Redis configured)': async () => {
        sink = await tiered.get(key)
      },
      'BentoCache get': async () => {
        sink = await bento.get({ key })
      },
      'BentoCache getOrSet': async () => {
        sink = await bento.getOrSet({ key, factory: loader, ttl: TTL })
      },
      'cache-manager get': async () => {
        sink = await manager.get(key)
      },
      'cache-manager wrap': async () => {
        sink = await manager.wrap(key, async () => payload, TTL)
      },
    },
    options,
  )
  console.log(`\n### L1 hit, ${label}\n`)
  console.log(table(samples, 'Map in async fn'))
  console.log('')
  console.log(
    `- Hotpath get / BentoCache get: **${ratio(samples, 'Hotpath get', 'BentoCache get').toFixed(2)}x** (target >= 5x)`,
  )
  console.log(
    `- Hotpath getOrSet / BentoCache getOrSet: **${ratio(samples, 'Hotpath getOrSet', 'BentoCache getOrSet').toFixed(2)}x** (target >= 5x)`,
  )
  console.log(
    `- Map / Hotpath get: **${ratio(samples, 'Map in async fn', 'Hotpath get').toFixed(2)}x** (target <= 8x)`,
  )
  console.log(
    `- Map / Hotpath getOrSet: **${ratio(samples, 'Map in async fn', 'Hotpath getOrSet').toFixed(2)}x** (target <= 8x)`,
  )
  console.log(
    `- Hotpath get / cache-manager get: ${ratio(samples, 'Hotpath get', 'cache-manager get').toFixed(2)}x`,
  )
  await hotpath.close()
  await tiered.close()
  await bento.disconnectAll()
  await manager.disconnect()
}

// ------------------------------------------------------------------ L2 hit, L1 off, 50 in flight
async function l2Section(payload: unknown, label: string): Promise<void> {
  const keys = Array.from({ length: IN_FLIGHT }, (_, i) => `l2:${label}:${i}`)
  const hotpath = createCache({ l1: false, prefix: PREFIX, ttl: TTL, l2: redisStore({ url: REDIS_URL }) })
  const keyv = new Keyv({ store: new KeyvRedis(REDIS_URL), namespace: `${PREFIX}-cm` })
  const manager = createCacheManager({ stores: [keyv], ttl: TTL })
  const raw = createClient({ url: REDIS_URL })
  await raw.connect()
  const rawBuffers = raw.withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer })
  const codec = msgpackCodec()
  const encoded = codec.encode(payload)
  const rawKeys = keys.map((k) => `${PREFIX}:raw:${k}`)
  for (let i = 0; i < keys.length; i++) {
    await hotpath.set(keys[i] as string, payload)
    await manager.set(keys[i] as string, payload, TTL)
    await raw.set(rawKeys[i] as string, encoded)
  }
  const samples = await runRounds(
    {
      'raw node-redis GET + msgpackr decode': async () => {
        const replies = await Promise.all(rawKeys.map((k) => rawBuffers.get(k)))
        sink = replies.map((reply) => codec.decode(reply as unknown as Buffer))
      },
      'Hotpath get (L1 off)': async () => {
        sink = await Promise.all(keys.map((k) => hotpath.get(k)))
      },
      'cache-manager + Keyv Redis get': async () => {
        sink = await Promise.all(keys.map((k) => manager.get(k)))
      },
    },
    options,
  )
  console.log(`\n### L2 hit (L1 off), ${IN_FLIGHT} in flight, ${label} (ops = batches of ${IN_FLIGHT})\n`)
  console.log(table(samples, 'raw node-redis GET + msgpackr decode'))
  console.log('')
  console.log(
    `- Hotpath / cache-manager: **${ratio(samples, 'Hotpath get (L1 off)', 'cache-manager + Keyv Redis get').toFixed(2)}x** (target >= 1.2x)`,
  )
  console.log(
    `- Hotpath / raw GET + decode: **${ratio(samples, 'Hotpath get (L1 off)', 'raw node-redis GET + msgpackr decode').toFixed(2)}x** (target >= 0.9x)`,
  )
  for (const k of keys) await manager.del(k)
  await raw.del(rawKeys)
  await raw.close()
  await manager.disconnect()
  await hotpath.close()
}

// ------------------------------------------------------------------ set through both tiers
async function setSection(payload: unknown, label: string): Promise<void> {
  const keys = Array.from({ length: 100 }, (_, i) => `set:${label}:${i}`)
  const hotpath = createCache({ prefix: PREFIX, ttl: TTL, l2: redisStore({ url: REDIS_URL }) })
  const memoryKeyv = new Keyv()
  const redisKeyv = new Keyv({ store: new KeyvRedis(REDIS_URL), namespace: `${PREFIX}-cm2` })
  const manager = createCacheManager({ stores: [memoryKeyv, redisKeyv], ttl: TTL })
  const bento = await bentoWithRedis()
  // The Redis side alone, on the same bytes: a plain SET (what BentoCache sends) and the write
  // script Hotpath's set runs (lease revocation and the coherence PUBLISH in the same call).
  const raw = createClient({ url: REDIS_URL })
  await raw.connect()
  await raw.scriptLoad(WRITE_SCRIPT.source)
  const encoded = msgpackCodec().encode(payload)
  const rawKeys = keys.map((key) => `${PREFIX}:raw-set:${key}`)
  const message = JSON.stringify({ i: 'bench', t: 's', k: [keys[0]] })
  let i = 0
  const tasks: Record<string, () => Promise<void>> = {
    'Hotpath set (L1 + Redis)': async () => {
      await hotpath.set(keys[i++ % keys.length] as string, payload)
    },
    'raw node-redis SET PX (same bytes)': async () => {
      await raw.set(rawKeys[i++ % rawKeys.length] as string, encoded, { PX: TTL })
    },
    'raw node-redis EVALSHA of the write script (same bytes)': async () => {
      const key = rawKeys[i++ % rawKeys.length] as string
      await raw.evalSha(WRITE_SCRIPT.sha, {
        keys: [key, `${key}\0L`],
        arguments: [
          '1',
          encoded as unknown as string,
          String(TTL),
          '',
          'set',
          '5000',
          `${PREFIX}:bus`,
          message,
          '1',
        ],
      })
    },
    'cache-manager set (memory + Keyv Redis)': async () => {
      await manager.set(keys[i++ % keys.length] as string, payload, TTL)
    },
  }
  if (typeof bento === 'string') notes.push(bento)
  else {
    tasks['BentoCache set (memory + Redis + bus)'] = async () => {
      await bento.set({ key: keys[i++ % keys.length] as string, value: payload, ttl: TTL })
    }
  }
  const samples = await runRounds(tasks, options)
  console.log(`\n### set through both tiers, ${label}\n`)
  console.log(table(samples, 'Hotpath set (L1 + Redis)'))
  console.log('')
  if (typeof bento !== 'string') {
    console.log(
      `- Hotpath / BentoCache: **${ratio(samples, 'Hotpath set (L1 + Redis)', 'BentoCache set (memory + Redis + bus)').toFixed(2)}x** (target >= 1.0x)`,
    )
    await bento.disconnectAll()
  } else {
    console.log('- Hotpath / BentoCache: n/a (BentoCache Redis driver not available, see notes)')
  }
  console.log(
    `- Hotpath / cache-manager: ${ratio(samples, 'Hotpath set (L1 + Redis)', 'cache-manager set (memory + Keyv Redis)').toFixed(2)}x`,
  )
  console.log(
    `- Redis floor: the write script / a plain SET of the same bytes: ${ratio(samples, 'raw node-redis EVALSHA of the write script (same bytes)', 'raw node-redis SET PX (same bytes)').toFixed(2)}x; Hotpath set / the write script alone: ${ratio(samples, 'Hotpath set (L1 + Redis)', 'raw node-redis EVALSHA of the write script (same bytes)').toFixed(2)}x`,
  )
  await raw.del(rawKeys.flatMap((key) => [key, `${key}\0L`]))
  await raw.close()
  for (const k of keys) await manager.del(k)
  await manager.disconnect()
  const cleaner = redisStore({ url: REDIS_URL }).factory()
  await cleaner.connect()
  await cleaner.clearPrefix(PREFIX)
  cleaner.close()
  await hotpath.close()
}

const only = process.argv
  .find((arg) => arg.startsWith('--only='))
  ?.slice('--only='.length)
  .split(',')
const wanted = (section: string) => only === undefined || only.includes(section)

console.log(
  `Cache operations: ${options.rounds} interleaved rounds x ${options.timeMs} ms per task, median ops/s.`,
)
for (const [label, payload] of [
  ['1 KB item', ITEM],
  ['50-item page', PAGE],
] as const) {
  if (wanted('l1')) await l1Section(payload, label)
  if (wanted('l2')) await l2Section(payload, label)
  if (wanted('set')) await setSection(payload, label)
}
if (notes.length > 0) console.log(`\nNotes:\n${[...new Set(notes)].map((n) => `- ${n}`).join('\n')}`)
void sink
process.exit(0)
