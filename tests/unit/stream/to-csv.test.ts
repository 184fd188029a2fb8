import { parse } from 'csv-parse/sync'
import { Readable } from 'node:stream'
import { buffer, text } from 'node:stream/consumers'
import { describe, expect, it } from 'vitest'

import { toCsv } from '../../../src/stream/index.js'

interface Row {
  id: number
  name: string | null
  note?: string | null
  price: number
  at: Date | null
}

const tricky: Row[] = [
  { id: 1, name: 'plain', note: 'x', price: 1.5, at: new Date('2024-01-02T03:04:05.678Z') },
  { id: 2, name: 'with "quotes"', note: 'a,b,c', price: -2, at: null },
  { id: 3, name: 'multi\nline\r\nvalue', note: '', price: 0, at: null },
  { id: 4, name: null, note: null, price: 1e21, at: null },
  { id: 5, name: '유니코드 ✓ émoji 🎉', note: undefined, price: 3, at: null },
  { id: 6, name: ' spaced ', note: '""', price: 0.1, at: null },
]

describe('toCsv', () => {
  it('round-trips through csv-parse: quotes, commas, newlines, unicode, empty and null cells', async () => {
    const csv = await text(toCsv(tricky, ['id', 'name', 'note', 'price', 'at']))
    const parsed = parse(csv, { relax_column_count: false }) as string[][]
    expect(parsed[0]).toEqual(['id', 'name', 'note', 'price', 'at'])
    expect(parsed.slice(1)).toEqual([
      ['1', 'plain', 'x', '1.5', '2024-01-02T03:04:05.678Z'],
      ['2', 'with "quotes"', 'a,b,c', '-2', ''],
      ['3', 'multi\nline\r\nvalue', '', '0', ''],
      ['4', '', '', '1e+21', ''],
      ['5', '유니코드 ✓ émoji 🎉', '', '3', ''],
      ['6', ' spaced ', '""', '0.1', ''],
    ])
  })

  it('uses CRLF line endings and quotes only when needed (RFC 4180)', async () => {
    const csv = await text(toCsv([{ a: 'x', b: 'y,z' }], ['a', 'b']))
    expect(csv).toBe('a,b\r\nx,"y,z"\r\n')
  })

  it('neutralises formula cells by default and leaves numbers alone', async () => {
    const cells = ['=1+1', '+cmd', '-2+3', '@SUM(A1)', '\tTAB', '\rCR', 'safe=1', '=HYPERLINK("http://x")']
    const csv = await text(
      toCsv(
        cells.map((value) => ({ value, n: -5 })),
        ['value', 'n'],
      ),
    )
    const parsed = parse(csv, { from_line: 2 }) as string[][]
    expect(parsed.map((row) => row[0])).toEqual([
      "'=1+1",
      "'+cmd",
      "'-2+3",
      "'@SUM(A1)",
      "'\tTAB",
      "'\rCR",
      'safe=1',
      `'=HYPERLINK("http://x")`,
    ])
    expect(parsed.every((row) => row[1] === '-5')).toBe(true)
  })

  it('keeps formula text as is when neutralisation is off', async () => {
    const csv = await text(toCsv([{ v: '=1+1' }, { v: '@x' }], ['v'], { neutralizeFormulas: false }))
    expect(csv).toBe('v\r\n=1+1\r\n@x\r\n')
  })

  it('supports delimiter, LF newline, no header, BOM, header names and computed columns', async () => {
    const csv = (
      await buffer(
        toCsv(
          [{ id: 1, name: 'a;b' }],
          [
            { key: 'id', header: 'Identifier' },
            'name',
            { key: 'upper', header: 'Upper', value: (row) => row.name.toUpperCase() },
          ],
          { delimiter: ';', newline: '\n', bom: true },
        ),
      )
    ).toString('utf8')
    expect(csv).toBe('\uFEFFIdentifier;name;Upper\n1;"a;b";"A;B"\n')
    const noHeader = await text(toCsv([{ id: 1 }], ['id'], { header: false }))
    expect(noHeader).toBe('1\r\n')
  })

  it('renders booleans, bigints, JSON objects and invalid dates', async () => {
    const csv = await text(
      toCsv(
        [{ b: true, n: 12345678901234567890n, o: { a: [1, ',x'] }, d: new Date(Number.NaN) }],
        ['b', 'n', 'o', 'd'],
        {
          header: false,
        },
      ),
    )
    expect(parse(csv)).toEqual([['true', '12345678901234567890', '{"a":[1,",x"]}', '']])
  })

  it('rejects bad options with the option name', () => {
    expect(() => toCsv([], ['id'] as never, { delimiter: '"' })).toThrow(/delimiter/)
    expect(() => toCsv([], ['id'] as never, { delimiter: ',,' })).toThrow(/delimiter/)
    expect(() => toCsv([], [] as never)).toThrow(/columns/)
  })

  it('batches rows into chunks instead of writing one per row', async () => {
    const rows = Array.from({ length: 20_000 }, (_, id) => ({ id, name: `item_${id}` }))
    const stream = toCsv(rows, ['id', 'name'], { chunkSize: 16 * 1024 })
    const chunks: Buffer[] = []
    for await (const chunk of stream) chunks.push(chunk as Buffer)
    expect(stream.rowCount).toBe(20_000)
    expect(chunks.length).toBeLessThan(40)
    expect(chunks.slice(0, -1).every((chunk) => chunk.length >= 16 * 1024)).toBe(true)
    expect(Buffer.concat(chunks).length).toBe(stream.byteCount)
  })

  it('handles rows larger than a chunk and multi-byte text at chunk edges', async () => {
    const big = 'é'.repeat(100_000) + '"'
    const rows = [{ v: 'a' }, { v: big }, ...Array.from({ length: 3_000 }, (_, i) => ({ v: `ü${i}🎉` }))]
    const csv = (await buffer(toCsv(rows, ['v'], { chunkSize: 1024 }))).toString('utf8')
    const parsed = parse(csv, { from_line: 2 }) as string[][]
    expect(parsed.map((row) => row[0])).toEqual(rows.map((row) => row.v))
  })

  it('accepts async iterables and object-mode Readables', async () => {
    async function* generate() {
      yield { id: 1 }
      yield { id: 2 }
    }
    expect(await text(toCsv(generate(), ['id']))).toBe('id\r\n1\r\n2\r\n')
    expect(await text(toCsv(Readable.from([{ id: 3 }]), ['id']))).toBe('id\r\n3\r\n')
  })

  it('pulls from the source only as fast as the consumer reads (backpressure)', async () => {
    let produced = 0
    function* endless() {
      for (;;) {
        produced++
        yield { id: produced, name: 'x'.repeat(50) }
      }
    }
    const stream = toCsv(endless(), ['id', 'name'], { chunkSize: 8 * 1024 })
    stream.pause()
    stream.read(0)
    await new Promise((resolve) => setTimeout(resolve, 50))
    // Nothing consumed: at most about one high-water mark of rows has been produced.
    expect(produced).toBeLessThan(1_000)
    const before = produced
    stream.read()
    await new Promise((resolve) => setImmediate(resolve))
    expect(produced).toBeGreaterThan(before)
    stream.destroy()
  })

  it('calls the source iterator return() when destroyed, before emitting close', async () => {
    let returned = false
    let pulled = 0
    const source: AsyncIterable<{ id: number }> = {
      [Symbol.asyncIterator]() {
        return {
          next: async () => ({ done: false, value: { id: ++pulled } }),
          return: async () => {
            await new Promise((resolve) => setTimeout(resolve, 10))
            returned = true
            return { done: true, value: undefined }
          },
        }
      },
    }
    const stream = toCsv(source, ['id'], { chunkSize: 1024 })
    await new Promise<void>((resolve) => stream.once('data', () => resolve()))
    const closed = new Promise<void>((resolve) => stream.once('close', () => resolve()))
    stream.destroy()
    await closed
    expect(returned).toBe(true)
  })

  it('releases the source when the abort signal fires', async () => {
    let returned = false
    async function* rows() {
      try {
        for (let id = 0; ; id++) yield { id }
      } finally {
        returned = true
      }
    }
    const controller = new AbortController()
    const stream = toCsv(rows(), ['id'], { signal: controller.signal, chunkSize: 1024 })
    await new Promise<void>((resolve) => stream.once('data', () => resolve()))
    const closed = new Promise<void>((resolve) => stream.once('close', () => resolve()))
    controller.abort()
    await closed
    expect(returned).toBe(true)
    expect(stream.destroyed).toBe(true)
  })

  it('ends with the error of a failing source and releases nothing twice', async () => {
    async function* failing() {
      yield { id: 1 }
      throw new Error('disk on fire')
    }
    await expect(text(toCsv(failing(), ['id']))).rejects.toThrow('disk on fire')
  })
})
