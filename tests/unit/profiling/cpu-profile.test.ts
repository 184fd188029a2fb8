import { describe, expect, it } from 'vitest'

import {
  formatProfileSummary,
  isCpuProfile,
  summarizeProfile,
  type CpuProfile,
} from '../../../src/profiling/cpu-profile.js'
import { isProfiling, startCpuProfile } from '../../../src/profiling/cpu-profiler.js'
import { ProfilerBusyError } from '../../../src/errors.js'

const frame = (functionName: string, line: number, url = 'file:///app/src/work.js') => ({
  functionName,
  scriptId: '1',
  url,
  lineNumber: line - 1,
  columnNumber: 0,
})

/**
 * (root) → main → parse (leaf)        samples: 2 x 1 ms
 *               → recurse → recurse (leaf)   samples: 3 x 1 ms
 *        (idle)                        samples: 5 x 1 ms
 */
const profile: CpuProfile = {
  startTime: 0,
  endTime: 10_000,
  nodes: [
    { id: 1, callFrame: frame('(root)', 0, ''), children: [2, 6] },
    { id: 2, callFrame: frame('main', 10), children: [3, 4] },
    { id: 3, callFrame: frame('parse', 20) },
    { id: 4, callFrame: frame('recurse', 30), children: [5] },
    { id: 5, callFrame: frame('recurse', 30) },
    { id: 6, callFrame: frame('(idle)', 0, '') },
  ],
  // Each sample is followed by a 1 ms delta; the first delta is attributed to nobody.
  samples: [3, 3, 5, 5, 5, 6, 6, 6, 6, 6],
  timeDeltas: [0, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000],
}

describe('summarizeProfile', () => {
  it('computes self and total time per function with file:line', () => {
    const summary = summarizeProfile(profile, { baseDir: '/app' })
    expect(summary.sampleCount).toBe(10)
    expect(summary.durationMs).toBe(10)
    const self = Object.fromEntries(summary.bySelf.map((row) => [row.functionName, row.selfMs]))
    expect(self).toEqual({ recurse: 3, parse: 2 })
    const total = Object.fromEntries(summary.byTotal.map((row) => [row.functionName, row.totalMs]))
    // main contains both; recursion counts once (3 ms, not 3 + 3).
    expect(total).toEqual({ main: 5, recurse: 3, parse: 2 })
    expect(summary.byTotal[0]).toMatchObject({
      functionName: 'main',
      location: 'src/work.js:10',
      totalPercent: 50,
    })
  })

  it('sorts and limits with top', () => {
    const summary = summarizeProfile(profile, { top: 1 })
    expect(summary.bySelf.map((row) => row.functionName)).toEqual(['recurse'])
    expect(summary.byTotal.map((row) => row.functionName)).toEqual(['main'])
  })

  it('renders both tables', () => {
    const text = formatProfileSummary(summarizeProfile(profile, { baseDir: '/app' }))
    expect(text).toContain('Top functions by self time')
    expect(text).toContain('Top functions by total time')
    expect(text).toMatch(/3\.0\s+30\.0\s+3\.0\s+30\.0\s+recurse\s+src\/work\.js:30/u)
  })
})

function hotpathUnitBusyLoop(ms: number): number {
  const end = performance.now() + ms
  let x = 0
  while (performance.now() < end) x += Math.sqrt(x + 1)
  return x
}

describe('startCpuProfile', () => {
  it('records a real V8 profile that contains the function that ran', async () => {
    const running = await startCpuProfile()
    expect(isProfiling()).toBe(true)
    await expect(startCpuProfile()).rejects.toBeInstanceOf(ProfilerBusyError)
    hotpathUnitBusyLoop(60)
    const cpuProfile = await running.stop()
    expect(isProfiling()).toBe(false)
    expect(isCpuProfile(cpuProfile)).toBe(true)
    expect(cpuProfile.samples.length).toBeGreaterThan(0)
    const summary = summarizeProfile(cpuProfile, { top: 50 })
    const row = summary.byTotal.find((r) => r.functionName === 'hotpathUnitBusyLoop')
    expect(row).toBeDefined()
    expect(row!.location).toMatch(/cpu-profile\.test\.ts:\d+$/u)
    // Stopping twice returns the same profile rather than throwing.
    expect(await running.stop()).toBe(cpuProfile)
  })
})
