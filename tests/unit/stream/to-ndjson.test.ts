import { text } from 'node:stream/consumers'
import { describe, expect, it } from 'vitest'

import { toNdjson } from '../../../src/stream/index.js'

describe('toNdjson', () => {
  it('writes one JSON document per line that parses back to the rows', async () => {
    const rows = [
      { id: 1, name: 'line\nbreak "q"', at: new Date('2024-01-01T00:00:00.000Z'), n: null },
      { id: 2, name: '유니코드 \u2028', at: null, n: 1.5 },
    ]
    const output = await text(toNdjson(rows))
    expect(output.endsWith('\n')).toBe(true)
    const lines = output.trimEnd().split('\n')
    expect(lines).toHaveLength(2)
    expect(lines.map((line) => JSON.parse(line) as unknown)).toEqual([
      { id: 1, name: 'line\nbreak "q"', at: '2024-01-01T00:00:00.000Z', n: null },
      { id: 2, name: '유니코드 \u2028', at: null, n: 1.5 },
    ])
  })

  it('projects columns in order and writes bigints as strings', async () => {
    const output = await text(toNdjson([{ a: 1, b: 2n, c: 3 }], { columns: ['c', 'b'] }))
    expect(output).toBe('{"c":3,"b":"2"}\n')
  })

  it('rejects an empty column list', () => {
    expect(() => toNdjson([], { columns: [] })).toThrow(/columns/)
  })
})
