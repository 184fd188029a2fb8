import { describe, expect, it } from 'vitest'
import { readProcCpu } from '../../../src/bench/index.js'
import { summarizeClientCpu } from '../../../src/bench/cpu.js'

describe('client CPU', () => {
  it.runIf(process.platform === 'linux')('reads this process CPU time from /proc, growing with work', () => {
    const before = readProcCpu()
    expect(before).not.toBeNull()
    let x = 0
    const until = process.cpuUsage().user + 60_000
    while (process.cpuUsage().user < until) x += Math.sqrt(x + 1)
    const after = readProcCpu()
    expect(after!.selfMs).toBeGreaterThan(before!.selfMs)
    expect(readProcCpu(2 ** 22 + 12_345)).toBeNull()
  })

  it('flags a saturated client with a sentence that says what to do', () => {
    const busy = summarizeClientCpu(950, 1_000, 10_000, 'process.cpuUsage')
    expect(busy.saturated).toBe(true)
    expect(busy.usPerRequest).toBeCloseTo(95)
    expect(busy.warning).toContain('the client, not the server, may be the limit')
    expect(busy.warning).toContain('--engine wrk')
    const idle = summarizeClientCpu(300, 1_000, 10_000, '/proc cutime')
    expect(idle).toMatchObject({ saturated: false, warning: null, utilization: 0.3 })
    // wrk with two threads may use two cores before it is the limit.
    expect(summarizeClientCpu(1_500, 1_000, 10_000, '/proc cutime', 2).saturated).toBe(false)
  })
})
