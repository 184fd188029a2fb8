/**
 * Three reference-service processes on their own ports, sharing Redis and one PostgreSQL schema,
 * behave as one (issue 9 item 2): a write through any one is seen through every one within the
 * staleness bound, a stampede over the three loads the item once, and write-behind with consumers
 * in all three keeps every acknowledged write, in order, when one of them is SIGKILLed.
 */
import { randomUUID } from 'node:crypto'
import { createClient } from 'redis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DEFAULT_WRITE_BEHIND_GROUP, writeBehindKeys } from '../../../src/cache/strategies/defaults.js'
import { CONSISTENCY_BOUND_MS } from '../../../bench/reliability/consistency.js'
import { checkConsistency, type ReadRecord } from '../../../bench/reliability/lib/consistency-check.js'
import { hasPostgres, hasRedis, REDIS_URL } from '../../helpers/services.js'
import {
  clearRedisPrefixes,
  createServiceSchema,
  SERVICE_START_HOOK_TIMEOUT_MS,
  startServiceProcesses,
  stopServiceProcesses,
  type ServiceProcess,
  type ServiceSchema,
} from '../../helpers/service-processes.js'

const ITEMS = 40
const run = randomUUID().slice(0, 8)

interface ItemBody {
  id: number
  version: number
  name: string
}

async function getItem(
  instance: ServiceProcess,
  id: number,
): Promise<{ item: ItemBody; source: string | null }> {
  const response = await fetch(`${instance.url}/items/${id}`)
  expect(response.status, `GET ${instance.name}/items/${id}`).toBe(200)
  return { item: (await response.json()) as ItemBody, source: response.headers.get('x-cache') }
}

/** Sum of every sample of `metric` in the instances' `/metrics`, optionally filtered by a label. */
async function metricSum(instances: readonly ServiceProcess[], metric: string, label = ''): Promise<number> {
  let sum = 0
  for (const instance of instances) {
    const text = await (await fetch(`${instance.url}/metrics`)).text()
    for (const line of text.split('\n')) {
      if (!line.startsWith(`${metric}{`) && !line.startsWith(`${metric} `)) continue
      if (!line.includes(label)) continue
      sum += Number(line.slice(line.lastIndexOf(' ') + 1))
    }
  }
  return sum
}

describe.runIf(hasRedis && hasPostgres)('three service processes, write-through', () => {
  const cachePrefix = `h4-three-${run}`
  let schema: ServiceSchema | undefined
  let instances: ServiceProcess[] = []

  beforeAll(async () => {
    schema = await createServiceSchema({ label: 'three', items: ITEMS })
    instances = await startServiceProcesses(3, { databaseUrl: schema.url, cachePrefix, name: 'through' })
  }, SERVICE_START_HOOK_TIMEOUT_MS)

  afterAll(async () => {
    await stopServiceProcesses(instances)
    await schema?.drop()
    await clearRedisPrefixes([cachePrefix])
  })

  it('a write through any one is visible through every one within the staleness bound', async () => {
    for (const [index, writer] of instances.entries()) {
      const id = index + 1
      // Every instance holds the item in its L1 before the write.
      for (const instance of instances) await getItem(instance, id)
      const warm = await getItem(instances[(index + 1) % 3] as ServiceProcess, id)
      expect(warm.source).toBe('hit-l1')
      const before = warm.item.version

      const sentAt = performance.now()
      const response = await fetch(`${writer.url}/items/${id}`, {
        method: 'PATCH',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: `written through ${writer.name}` }),
      })
      const ackedAt = performance.now()
      expect(response.status).toBe(200)
      const written = (await response.json()) as ItemBody
      expect(written.version).toBeGreaterThan(before)

      // Poll every instance until it shows the write; every read is checked against the write log.
      const reads: ReadRecord[] = []
      for (const instance of instances) {
        const deadline = Date.now() + 10_000
        for (;;) {
          const startedAt = performance.now()
          const { item, source } = await getItem(instance, id)
          reads.push({
            id,
            version: item.version,
            startedAt,
            endedAt: performance.now(),
            reader: instance.name,
            source: source ?? undefined,
          })
          if (item.version === written.version) {
            expect(item.name).toBe(`written through ${writer.name}`)
            break
          }
          expect(Date.now(), `${instance.name} still serves v${item.version} of item ${id}`).toBeLessThan(
            deadline,
          )
          await new Promise((resolve) => setTimeout(resolve, 20))
        }
      }
      const verdict = checkConsistency(
        new Map([[id, before]]),
        [{ id, version: written.version, sentAt, ackedAt }],
        reads,
        CONSISTENCY_BOUND_MS,
      )
      expect(verdict.phantomReads).toBe(0)
      expect(verdict.violations).toBe(0)
    }
  })

  it('a stampede over the three instances loads a cold item once', async () => {
    const id = ITEMS // never read by the other tests of this file
    const loadsBefore = await metricSum(instances, 'hotpath_cache_loader_duration_seconds_count')
    const selectsBefore = await metricSum(instances, 'hotpath_db_queries_total', 'operation="select"')
    const responses = await Promise.all(
      Array.from({ length: 60 }, (_, i) => getItem(instances[i % 3] as ServiceProcess, id)),
    )
    expect(new Set(responses.map((r) => r.item.version))).toEqual(new Set([1]))
    expect((await metricSum(instances, 'hotpath_cache_loader_duration_seconds_count')) - loadsBefore).toBe(1)
    // The database saw one read in all: the loader's.
    expect(
      (await metricSum(instances, 'hotpath_db_queries_total', 'operation="select"')) - selectsBefore,
    ).toBe(1)
  })
})

describe.runIf(hasRedis && hasPostgres)('three service processes, write-behind', () => {
  const cachePrefix = `h4-three-wb-cache-${run}`
  const queuePrefix = `h4:three:wb:${run}`
  let schema: ServiceSchema | undefined
  let instances: ServiceProcess[] = []
  const redis = createClient({ url: REDIS_URL })

  beforeAll(async () => {
    schema = await createServiceSchema({ label: 'three_wb', items: ITEMS })
    instances = await startServiceProcesses(3, {
      databaseUrl: schema.url,
      cachePrefix,
      name: 'behind',
      writeStrategy: 'behind',
      writeBehind: { prefix: queuePrefix, claimIdleMs: 1_000, claimIntervalMs: 250 },
    })
    await redis.connect()
  }, SERVICE_START_HOOK_TIMEOUT_MS)

  /** Writes a consumer took from the stream and has not acknowledged (XPENDING summary). */
  const takenBy = async (stream: string, consumer: string): Promise<number> => {
    const summary = (await redis.sendCommand(['XPENDING', stream, DEFAULT_WRITE_BEHIND_GROUP])) as [
      number,
      unknown,
      unknown,
      [string, string][] | null,
    ]
    return Number(summary[3]?.find(([name]) => name === consumer)?.[1] ?? 0)
  }

  afterAll(async () => {
    await stopServiceProcesses(instances)
    if (redis.isOpen) redis.destroy()
    await schema?.drop()
    await clearRedisPrefixes([cachePrefix, queuePrefix])
  })

  it('keeps every acknowledged write, in order per item, when a consumer holding writes is SIGKILLed', async () => {
    const victim = instances[2] as ServiceProcess
    const acks: ItemBody[] = []
    let killed = false
    let killedAt = Number.POSITIVE_INFINITY
    let sequence = 0

    // PUT through the instances in turn; one loop per item group, each item written in sequence.
    const put = async (instance: ServiceProcess, id: number): Promise<boolean> => {
      const name = `wb ${id} #${++sequence}`
      let item: ItemBody
      try {
        const response = await fetch(`${instance.url}/items/${id}`, {
          method: 'PUT',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ name, category: 'scale', price: 100, description: '' }),
        })
        if (response.status !== 200) {
          await response.arrayBuffer()
          return false
        }
        item = (await response.json()) as ItemBody
      } catch {
        return false // the instance died mid-request: not acknowledged
      }
      expect({ id: item.id, name: item.name }).toEqual({ id, name })
      acks.push({ id: item.id, version: item.version, name: item.name })
      return true
    }
    const loop = async (ids: number[], until: () => boolean) => {
      for (let turn = 0; !until(); turn++) {
        const alive = killed ? instances.slice(0, 2) : instances
        await put(alive[turn % alive.length] as ServiceProcess, ids[turn % ids.length] as number)
      }
      // Each item's last write is acknowledged by a survivor, so its final version is known.
      for (const id of ids) {
        for (let attempt = 0; !(await put(instances[id % 2] as ServiceProcess, id)); attempt++) {
          if (attempt >= 100) throw new Error(`no survivor acknowledged a write of item ${id}`)
          await new Promise((resolve) => setTimeout(resolve, 50))
        }
      }
    }
    const groups = Array.from({ length: 8 }, (_, g) =>
      Array.from({ length: ITEMS / 8 }, (_, i) => 1 + g + i * 8),
    )
    const giveUpAt = Date.now() + 30_000
    const streaming = Promise.all(
      groups.map((ids) =>
        loop(ids, () => (killed && acks.length >= killedAt + 150) || Date.now() > giveUpAt),
      ),
    )
    // Once writes have flowed through all three for a while, kill the victim while it holds writes
    // it took from the stream and has not acknowledged: freeze it (SIGSTOP) when it has some, make
    // sure it still has them, then SIGKILL; the survivors must reclaim them (XAUTOCLAIM).
    await expect.poll(() => acks.length, { timeout: 20_000, interval: 20 }).toBeGreaterThanOrEqual(150)
    const keys = writeBehindKeys(queuePrefix, 'items')
    let orphaned = 0
    for (let attempt = 0; orphaned === 0; attempt++) {
      if (attempt >= 50) throw new Error(`${victim.name} never held an unacknowledged write`)
      await expect
        .poll(() => takenBy(keys.stream, victim.name), { timeout: 20_000, interval: 2 })
        .toBeGreaterThan(0)
      process.kill(victim.pid, 'SIGSTOP')
      orphaned = await takenBy(keys.stream, victim.name)
      if (orphaned === 0) process.kill(victim.pid, 'SIGCONT')
    }
    await victim.kill('SIGKILL')
    killedAt = acks.length
    killed = true
    await streaming
    expect((await victim.exited).signal).toBe('SIGKILL')
    // The survivors went on acknowledging writes after the kill.
    expect(acks.length).toBeGreaterThanOrEqual(killedAt + 150)

    // Survivors reclaim what the victim had taken and drain the queue.
    await expect
      .poll(
        async () => Number(await redis.sendCommand(['XLEN', keys.stream])) + (await redis.hLen(keys.pending)),
        { timeout: 20_000, interval: 100 },
      )
      .toBe(0)
    expect(await takenBy(keys.stream, victim.name)).toBe(0)

    const last = new Map<number, ItemBody>()
    const handedOut = new Set<string>()
    for (const ack of acks) {
      // A version is never acknowledged twice for one item, across instances and the kill.
      expect(handedOut.has(`${ack.id}:${ack.version}`)).toBe(false)
      handedOut.add(`${ack.id}:${ack.version}`)
      const previous = last.get(ack.id)
      // Writes of one item are sequential: each acknowledged version is above the previous one.
      if (previous !== undefined) expect(ack.version).toBeGreaterThan(previous.version)
      last.set(ack.id, ack)
    }
    expect(last.size).toBe(ITEMS)
    const rows = await (schema as ServiceSchema).query<{ id: number; name: string; version: number }>(
      'select id, name, version from items order by id',
    )
    const byId = new Map(rows.map((row) => [Number(row.id), row]))
    for (const ack of last.values()) {
      const row = byId.get(ack.id)
      expect(row, `item ${ack.id}`).toBeDefined()
      expect({ id: ack.id, version: Number(row?.version), name: row?.name }).toEqual(ack)
    }
    console.info(
      `three-instances write-behind: ${acks.length} acknowledged writes, victim killed after ${killedAt} holding ${orphaned} taken writes`,
    )
  })
})
