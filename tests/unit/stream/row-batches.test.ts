import { text } from 'node:stream/consumers'
import { describe, expect, it } from 'vitest'

import { isRowBatchSource, rowBatches, toCsv, toNdjson } from '../../../src/stream/index.js'

interface Row {
  id: number
  name: string
}

const rows: Row[] = Array.from({ length: 2_500 }, (_, i) => ({
  id: i + 1,
  name: i % 7 === 0 ? '=SUM(A1)' : `item ${i}`,
}))

async function* inBatches(size: number): AsyncGenerator<Row[]> {
  for (let i = 0; i < rows.length; i += size) yield rows.slice(i, i + size)
}

describe('rowBatches', () => {
  it('marks a source as batched; plain iterables are not', () => {
    expect(isRowBatchSource(rowBatches(inBatches(10)))).toBe(true)
    expect(isRowBatchSource(rows)).toBe(false)
  })

  it('encodes every row of every batch, in order, exactly like the row-by-row source', async () => {
    const byRow = await text(toCsv(rows, ['id', 'name']))
    const byBatch = await text(toCsv(rowBatches(inBatches(1_000)), ['id', 'name']))
    expect(byBatch).toBe(byRow)
    expect(byBatch.split('\r\n').filter(Boolean)).toHaveLength(rows.length + 1)
    // The cell encoder still runs on batched rows: formulas are neutralised.
    expect(byBatch).toContain("'=SUM(A1)")
  })

  it('counts rows, not batches, and handles empty batches', async () => {
    async function* withEmpty(): AsyncGenerator<Row[]> {
      yield []
      yield rows.slice(0, 3)
      yield []
    }
    const stream = toNdjson(rowBatches(withEmpty()))
    const body = await text(stream)
    expect(
      body
        .trim()
        .split('\n')
        .map((line) => (JSON.parse(line) as Row).id),
    ).toEqual([1, 2, 3])
    expect(stream.rowCount).toBe(3)
  })

  it('releases the source when the consumer stops early', async () => {
    let released = false
    async function* endless(): AsyncGenerator<Row[]> {
      try {
        for (;;) yield rows
      } finally {
        released = true
      }
    }
    const stream = toCsv(rowBatches(endless()), ['id', 'name'], { chunkSize: 1024 })
    await new Promise<void>((resolve) => stream.once('data', () => resolve()))
    const closed = new Promise<void>((resolve) => stream.once('close', () => resolve()))
    stream.destroy()
    await closed
    expect(released).toBe(true)
  })
})
