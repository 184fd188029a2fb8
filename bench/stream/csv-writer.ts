/**
 * CSV writer micro benchmark: Hotpath's `toCsv` against `csv-stringify` (the maintained writer a
 * user would pick), on seed-like item rows (quotes, commas, newlines, formula cells, unicode),
 * with and without formula neutralisation, in interleaved rounds. Prints a markdown table.
 *
 *   npx tsx bench/stream/csv-writer.ts                  # 300,000 rows x 5 rounds
 *   npx tsx bench/stream/csv-writer.ts --rows 20000 --rounds 1   # smoke run
 */
import { stringify } from 'csv-stringify'
import { Readable, Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { parseArgs } from 'node:util'

import { generateItem, streamFor } from '../../service/src/seed-data.js'
import { toCsv } from '../../src/stream/index.js'

const { values } = parseArgs({
  options: { rows: { type: 'string', default: '300000' }, rounds: { type: 'string', default: '5' } },
})
const ROWS = Number(values.rows)
const ROUNDS = Number(values.rounds)
const COLUMNS = ['id', 'name', 'category', 'price', 'description', 'updated_at', 'version'] as const

const random = streamFor(42, 'items')
const rows = Array.from({ length: ROWS }, (_, i) => generateItem(random, i + 1))

/** Counts bytes and drops them: the cost measured is the writer's alone. */
function sink(): { stream: Writable; bytes: () => number } {
  let bytes = 0
  return {
    stream: new Writable({
      write(chunk: Buffer, _encoding, callback) {
        bytes += chunk.length
        callback()
      },
    }),
    bytes: () => bytes,
  }
}

interface Writer {
  name: string
  run(): Promise<number>
}

const writers: Writer[] = [
  {
    name: 'hotpath toCsv (neutralise formulas)',
    async run() {
      const out = sink()
      await pipeline(toCsv(rows, COLUMNS), out.stream)
      return out.bytes()
    },
  },
  {
    name: 'hotpath toCsv (no neutralisation)',
    async run() {
      const out = sink()
      await pipeline(toCsv(rows, COLUMNS, { neutralizeFormulas: false }), out.stream)
      return out.bytes()
    },
  },
  {
    name: 'csv-stringify (escape_formulas)',
    async run() {
      const out = sink()
      await pipeline(
        Readable.from(rows),
        stringify({
          header: true,
          columns: [...COLUMNS],
          escape_formulas: true,
          record_delimiter: 'windows',
        }),
        out.stream,
      )
      return out.bytes()
    },
  },
  {
    name: 'csv-stringify (plain)',
    async run() {
      const out = sink()
      await pipeline(
        Readable.from(rows),
        stringify({ header: true, columns: [...COLUMNS], record_delimiter: 'windows' }),
        out.stream,
      )
      return out.bytes()
    },
  },
]

const results = new Map<string, { seconds: number[]; bytes: number }>()
for (let round = 0; round < ROUNDS; round++) {
  for (const writer of writers) {
    const started = performance.now()
    const bytes = await writer.run()
    const seconds = (performance.now() - started) / 1000
    const entry = results.get(writer.name) ?? { seconds: [], bytes }
    entry.seconds.push(seconds)
    results.set(writer.name, entry)
  }
}

const median = (list: number[]) => [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)]!
const baseline = median(results.get('csv-stringify (escape_formulas)')!.seconds)
console.log(
  `\nCSV writers, ${ROWS.toLocaleString('en')} seed item rows, median of ${ROUNDS} interleaved rounds, Node ${process.version}\n`,
)
console.log('| writer | rows/s | MB/s | speed vs csv-stringify (escape_formulas) |')
console.log('|---|---:|---:|---:|')
for (const [name, { seconds, bytes }] of results) {
  const s = median(seconds)
  console.log(
    `| ${name} | ${Math.round(ROWS / s).toLocaleString('en')} | ${(bytes / 1e6 / s).toFixed(1)} | ${(baseline / s).toFixed(2)}x |`,
  )
}
