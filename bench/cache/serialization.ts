/**
 * Serialization: JSON.stringify vs a schema-compiled encoder (fast-json-stringify, what Fastify
 * uses for response schemas) vs msgpackr with records, on a ~1 KB item and a 50-item page; and
 * the matching decoders (JSON.parse, msgpackr unpack). Prints a Markdown table with ratios to
 * JSON.stringify / JSON.parse.
 *
 *   npx tsx bench/cache/serialization.ts [--quick]
 *
 * fast-json-stringify ships with Fastify (it is Fastify's serializer), so it is always installed.
 */
import { Type, type TSchema } from '@sinclair/typebox'
import fastJson from 'fast-json-stringify'
import { Packr } from 'msgpackr'
import { ITEM, PAGE } from './payloads.js'
import { ratio, roundOptions, runRounds, table } from './rounds.js'

const ItemSchema = Type.Object({
  id: Type.Integer(),
  name: Type.String(),
  category: Type.String(),
  price: Type.Number(),
  inStock: Type.Boolean(),
  tags: Type.Array(Type.String()),
  description: Type.String(),
  updatedAt: Type.String(),
  version: Type.Integer(),
})
const PageSchema = Type.Object({
  page: Type.Integer(),
  size: Type.Integer(),
  total: Type.Integer(),
  items: Type.Array(ItemSchema),
})

const packr = new Packr({ useRecords: true })
let sink: unknown
const tasks: Record<string, () => void> = {}
const cases: [string, unknown, TSchema][] = [
  ['item', ITEM, ItemSchema],
  ['page', PAGE, PageSchema],
]
for (const [label, value, schema] of cases) {
  const compiled = fastJson(schema as unknown as Parameters<typeof fastJson>[0])
  const json = JSON.stringify(value)
  const packed = packr.pack(value)
  if (compiled(value) !== json)
    console.error(`warning: schema-compiled output differs from JSON.stringify (${label})`)
  tasks[`JSON.stringify ${label}`] = () => {
    sink = JSON.stringify(value)
  }
  tasks[`fast-json-stringify ${label}`] = () => {
    sink = compiled(value)
  }
  tasks[`msgpackr pack ${label}`] = () => {
    sink = packr.pack(value)
  }
  tasks[`JSON.parse ${label}`] = () => {
    sink = JSON.parse(json)
  }
  tasks[`msgpackr unpack ${label}`] = () => {
    sink = packr.unpack(packed)
  }
}

const samples = await runRounds(tasks, roundOptions(process.argv))
void sink
console.log('### Serialization: JSON.stringify vs schema-compiled vs msgpackr\n')
console.log(table(samples))
console.log('')
for (const [label] of cases) {
  console.log(
    `- ${label}: fast-json-stringify / JSON.stringify ${ratio(samples, `fast-json-stringify ${label}`, `JSON.stringify ${label}`).toFixed(2)}x, ` +
      `msgpackr pack / JSON.stringify ${ratio(samples, `msgpackr pack ${label}`, `JSON.stringify ${label}`).toFixed(2)}x, ` +
      `msgpackr unpack / JSON.parse ${ratio(samples, `msgpackr unpack ${label}`, `JSON.parse ${label}`).toFixed(2)}x`,
  )
}
