import { describe, expect, it } from 'vitest'

import { formatServerTiming, parseServerTiming } from '../../../src/profiling/server-timing.js'

describe('Server-Timing format', () => {
  it('renders name, quoted desc and rounded dur in order', () => {
    const header = formatServerTiming([
      { name: 'cache', durationMs: 0.123456, description: 'hit-l1' },
      { name: 'db', durationMs: 3, description: '3 queries' },
      { name: 'total', durationMs: 4.5 },
    ])
    expect(header).toBe('cache;desc="hit-l1";dur=0.123, db;desc="3 queries";dur=3, total;dur=4.5')
  })

  it('escapes quotes and backslashes, replaces control and non-ASCII characters, drops bad names', () => {
    const header = formatServerTiming([
      { name: 'x', description: 'a "b" \\ c\nd é' },
      { name: 'bad name', durationMs: 1 },
    ])
    expect(header).toBe('x;desc="a \\"b\\" \\\\ c?d ?"')
    expect(parseServerTiming(header)).toEqual([{ name: 'x', description: 'a "b" \\ c?d ?' }])
  })

  it('parses what it formats', () => {
    const entries = [
      { name: 'cache', durationMs: 0.5, description: 'miss, l2' },
      { name: 'serialize', durationMs: 0.01 },
    ]
    expect(parseServerTiming(formatServerTiming(entries))).toEqual(entries)
  })
})
