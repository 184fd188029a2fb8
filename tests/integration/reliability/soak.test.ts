/**
 * Short form of `bench/reliability/soak.ts` (issue 10, item 3): the reference service in its own
 * process under mixed load for a few seconds after warm-up, heap (after a full GC) and RSS sampled
 * every second. Fails on steady growth. The CI thresholds are coarse (a run this short only
 * catches gross leaks, ~8 MiB/min of heap); the long form judges at 2 MiB/min over minutes. The
 * detector's negative control (a synthetic leaking series) is tests/unit/reliability/soak-analysis.
 */
import { describe, expect, it } from 'vitest'
import { formatSoak } from '../../../bench/reliability/lib/soak-report.js'
import { runSoak } from '../../../bench/reliability/lib/soak-run.js'
import { hasRedis } from '../../helpers/services.js'

const MIB = 2 ** 20

// The run starts its own redis-server (port 7341); hasRedis only gates on Redis being usable here.
describe.runIf(hasRedis)('soak (short form)', () => {
  it('serves mixed traffic with a heap and RSS that plateau', async () => {
    const result = await runSoak({
      durationMs: 12_000,
      warmupMs: 4_000,
      items: 1_000,
      connections: 8,
      maxHeapSlopePerMinute: 8 * MIB,
      maxRssSlopePerMinute: 32 * MIB,
      redisPort: 7341,
    })
    const report = formatSoak(result)
    expect(result.samples.length, report).toBeGreaterThanOrEqual(8)
    // The service ran with --expose-gc: the heap series is what survives a full collection.
    expect(
      result.samples.every((sample) => sample.heapAfterGc !== null && sample.heapAfterGc > 0),
      report,
    ).toBe(true)
    expect(result.requests.reads, report).toBeGreaterThan(0)
    expect(result.requests.writes, report).toBeGreaterThan(0)
    expect(result.requests.failedReads + result.requests.failedWrites, report).toBe(0)
    expect(result.heap.growing, report).toBe(false)
    expect(result.rss.growing, report).toBe(false)
    expect(result.ok, report).toBe(true)
  })
})
