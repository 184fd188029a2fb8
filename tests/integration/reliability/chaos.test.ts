/**
 * Short form of `bench/reliability/chaos.ts` (issue 10, item 2): the reference service in its own
 * process on SQLite and a private Redis, under mixed load, through a Redis SIGKILL + restart and a
 * SIGSTOP + SIGCONT. No read may fail, no acknowledged write may be missing from the database, and
 * the service must notice each fault and come back from it. The PostgreSQL restart and the
 * half-open connection run in the long form only (see docs/reliability.md).
 */
import { describe, expect, it } from 'vitest'
import { runChaos, type ChaosResult } from '../../../bench/reliability/lib/chaos-run.js'
import { formatChaos } from '../../../bench/reliability/lib/chaos-report.js'
import { hasRedis } from '../../helpers/services.js'

// The run starts its own redis-server (port 7340); hasRedis only gates on redis-server being usable.
describe.runIf(hasRedis)('chaos under load (short form)', () => {
  it('loses no read and no acknowledged write through a Redis kill and a Redis pause', async () => {
    const result: ChaosResult = await runChaos({
      database: 'sqlite',
      faults: ['redis-kill', 'redis-pause'],
      items: 1_000,
      connections: 8,
      warmupMs: 1_000,
      baselineMs: 1_500,
      faultMs: 1_200,
      gapMs: 2_500,
      redisPort: 7340,
    })
    const report = formatChaos(result)
    expect(
      result.faults.map((fault) => fault.name),
      report,
    ).toEqual(['redis-kill', 'redis-pause'])
    for (const fault of result.faults) {
      expect(fault.requests, `${fault.name}: load kept flowing\n${report}`).toBeGreaterThan(0)
      expect(fault.failedReads, `${fault.name}: failed reads\n${report}`).toBe(0)
      // The fault reached the service (it is not a run where nothing happened)...
      expect(
        fault.observed.l1Untrusted || fault.observed.breakerOpened,
        `${fault.name} noticed\n${report}`,
      ).toBe(true)
      // ...and the service came back: L1 trusted again, breaker closed.
      expect(fault.observed.recovered, `${fault.name} recovered\n${report}`).toBe(true)
    }
    expect(result.requests.failedReads, report).toBe(0)
    expect(result.writes.acked, report).toBeGreaterThan(0)
    expect(result.writes.lost, report).toEqual([])
  })
})
