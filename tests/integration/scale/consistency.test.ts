/**
 * The consistency checker's short form (issue 10 item 1): one instance writes, two others read,
 * every read is checked against the write log, and the worst staleness stays within the bound.
 * Negative controls prove the checker is not a no-op: a reader that shares the database but not
 * the cache's coherence channel (another CACHE_PREFIX) is caught serving stale versions, and
 * synthetic logs with stale and phantom reads are flagged.
 */
import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CONSISTENCY_BOUND_MS, runConsistency } from '../../../bench/reliability/consistency.js'
import { checkConsistency, type ReadRecord } from '../../../bench/reliability/lib/consistency-check.js'
import { hasPostgres, hasRedis } from '../../helpers/services.js'
import {
  clearRedisPrefixes,
  createServiceSchema,
  SERVICE_START_HOOK_TIMEOUT_MS,
  startServiceProcess,
  startServiceProcesses,
  stopServiceProcesses,
  type ServiceProcess,
  type ServiceSchema,
} from '../../helpers/service-processes.js'

const run = randomUUID().slice(0, 8)

describe('consistency verdict on synthetic logs', () => {
  const initial = new Map([[1, 1]])
  const writes = [
    { id: 1, version: 2, sentAt: 90, ackedAt: 100 },
    { id: 1, version: 3, sentAt: 1_990, ackedAt: 2_000 },
  ]
  const read = (version: number, startedAt: number): ReadRecord => ({
    id: 1,
    version,
    startedAt,
    endedAt: startedAt + 1,
    reader: 'b',
  })

  it('accepts reads of the newest version and stale reads within the bound', () => {
    const verdict = checkConsistency(
      initial,
      writes,
      [read(1, 50), read(1, 600), read(2, 2_000), read(3, 2_001)],
      1_000,
    )
    expect(verdict).toMatchObject({ reads: 4, staleReads: 1, violations: 0, phantomReads: 0 })
    expect(verdict.worstStalenessMs).toBe(500)
    expect(verdict.worst).toMatchObject({ version: 1, supersededBy: 2 })
  })

  it('flags a read older than a version acknowledged more than the bound before it started', () => {
    const verdict = checkConsistency(initial, writes, [read(1, 1_101), read(2, 3_500)], 1_000)
    expect(verdict.violations).toBe(2)
    expect(verdict.worstStalenessMs).toBe(1_500)
    expect(verdict.worst).toMatchObject({ version: 2, supersededBy: 3 })
  })

  it('flags a version that was never written', () => {
    const verdict = checkConsistency(initial, writes, [read(7, 150), { ...read(1, 10), id: 99 }], 1_000)
    expect(verdict.phantomReads).toBe(2)
    expect(verdict.examples).toHaveLength(2)
  })
})

describe.runIf(hasRedis && hasPostgres)('consistency checker across three service processes', () => {
  const cachePrefix = `h4-consistency-${run}`
  const isolatedPrefix = `h4-consistency-isolated-${run}`
  let schema: ServiceSchema | undefined
  let instances: ServiceProcess[] = []
  let isolated: ServiceProcess | undefined

  beforeAll(async () => {
    schema = await createServiceSchema({ label: 'consistency', items: 30 })
    const databaseUrl = schema.url
    const [trio, alone] = await Promise.allSettled([
      startServiceProcesses(3, { databaseUrl, cachePrefix, name: 'consistency' }),
      startServiceProcess({ databaseUrl, cachePrefix: isolatedPrefix }, 'isolated'),
    ])
    if (trio.status === 'fulfilled') instances = trio.value
    if (alone.status === 'fulfilled') isolated = alone.value
    if (trio.status === 'rejected') throw trio.reason
    if (alone.status === 'rejected') throw alone.reason
  }, SERVICE_START_HOOK_TIMEOUT_MS)

  afterAll(async () => {
    await stopServiceProcesses([...instances, ...(isolated === undefined ? [] : [isolated])])
    await schema?.drop()
    await clearRedisPrefixes([cachePrefix, isolatedPrefix])
  })

  it('no read through the other instances is staler than the bound', async () => {
    const [writer, ...readers] = instances as [ServiceProcess, ...ServiceProcess[]]
    const report = await runConsistency({
      writer: writer.url,
      readers: readers.map((reader) => reader.url),
      ids: Array.from({ length: 20 }, (_, i) => i + 1),
      duration: '3s',
    })
    console.info(
      `consistency (short): ${report.writes} writes, ${report.reads} reads ${JSON.stringify(report.readsBySource)}, ` +
        `${report.staleReads} stale, worst ${report.worstStalenessMs.toFixed(1)} ms (bound ${report.boundMs} ms)`,
    )
    expect(report.failures).toEqual([])
    expect(report.ok).toBe(true)
    expect(report.boundMs).toBe(CONSISTENCY_BOUND_MS)
    expect(report.worstStalenessMs).toBeLessThanOrEqual(CONSISTENCY_BOUND_MS)
    expect(report.writes).toBeGreaterThan(10)
    expect(report.reads).toBeGreaterThan(100)
    // Both readers answered, and some answers came from their L1 (the tier coherence protects).
    for (const reader of readers) expect(report.readsByReader[reader.url]).toBeGreaterThan(0)
    expect(report.readsBySource['hit-l1']).toBeGreaterThan(0)
  })

  it('catches a reader that does not share the coherence channel (negative control)', async () => {
    const report = await runConsistency({
      writer: (instances[0] as ServiceProcess).url,
      readers: [(isolated as ServiceProcess).url],
      ids: [21, 22, 23, 24, 25],
      duration: '3s',
    })
    expect(report.ok).toBe(false)
    expect(report.violations).toBeGreaterThan(0)
    expect(report.worstStalenessMs).toBeGreaterThan(CONSISTENCY_BOUND_MS)
    expect(report.failures.join('\n')).toContain('older than the bound')
  })
})
