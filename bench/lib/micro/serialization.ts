/**
 * Serialization of the service's payloads: one item and a 50-item page, with JSON.stringify,
 * Fastify's schema-compiled serializer (fast-json-stringify on the service's TypeBox `Item`
 * schema) and msgpackr (records). Same rows as the HTTP targets (the bench items database).
 *
 *   npx tsx bench/lib/micro/serialization.ts [--quick]
 *
 * Prints a Markdown table (median ops/s over interleaved rounds, spread, ratio to JSON.stringify).
 */
import { Type } from '@sinclair/typebox'
import fastJson from 'fast-json-stringify'
import { Packr } from 'msgpackr'
import { Item } from '../../../service/src/items/schemas.js'
import { ratio, roundOptions, runRounds, table } from '../../cache/rounds.js'
import { openItemsDb, type ApiItem } from '../items-db.js'

const PAGE_SIZE = 50

const db = openItemsDb()
const item = db.get(1) as ApiItem
const page = {
  items: Array.from({ length: PAGE_SIZE }, (_, i) => db.get(i + 1) as ApiItem),
  page: 1,
  pageSize: PAGE_SIZE,
}
db.close()

const PageSchema = Type.Object({ items: Type.Array(Item), page: Type.Integer(), pageSize: Type.Integer() })
const compiledItem = fastJson(Item as object)
const compiledPage = fastJson(PageSchema as object)
const packr = new Packr({ useRecords: true })

// Results go to a sink so the engine cannot drop the work.
let sink: unknown
const tasks: Record<string, () => void> = {
  'item: JSON.stringify': () => (sink = JSON.stringify(item)),
  'item: schema-compiled': () => (sink = compiledItem(item)),
  'item: msgpackr': () => (sink = packr.pack(item)),
  'page of 50: JSON.stringify': () => (sink = JSON.stringify(page)),
  'page of 50: schema-compiled': () => (sink = compiledPage(page)),
  'page of 50: msgpackr': () => (sink = packr.pack(page)),
}

const options = roundOptions(process.argv)
const samples = await runRounds(tasks, options)
const sizes = {
  item: [Buffer.byteLength(JSON.stringify(item)), packr.pack(item).length],
  page: [Buffer.byteLength(JSON.stringify(page)), packr.pack(page).length],
}
console.log(`### Serialization (${options.rounds} interleaved rounds × ${options.timeMs} ms per task)\n`)
console.log(table(samples, 'item: JSON.stringify'))
console.log('')
for (const kind of ['item', 'page of 50'] as const) {
  for (const other of ['schema-compiled', 'msgpackr']) {
    console.log(
      `- ${kind}: ${other} / JSON.stringify = ${ratio(samples, `${kind}: ${other}`, `${kind}: JSON.stringify`).toFixed(2)}x`,
    )
  }
}
console.log(
  `- bytes: item JSON ${sizes.item[0]} / msgpackr ${sizes.item[1]}; page JSON ${sizes.page[0]} / msgpackr ${sizes.page[1]}`,
)
if (sink === undefined) console.log('')
