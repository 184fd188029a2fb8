/**
 * Value codec benchmark: JSON vs msgpackr (record structures), encode and decode, on a ~1 KB item
 * and a 50-item page. The cache's default codec is whichever wins (sum of encode + decode times
 * over both payloads); the verdict is printed last.
 *
 *   npx tsx bench/cache/codec.ts [--quick]
 */
import { jsonCodec } from '../../src/cache/codec/json-codec.js'
import { msgpackCodec } from '../../src/cache/codec/msgpack-codec.js'
import { ITEM, PAGE } from './payloads.js'
import { median, ratio, roundOptions, runRounds, table } from './rounds.js'

const json = jsonCodec()
const msgpack = msgpackCodec()
const payloads = { item: ITEM, page: PAGE }

let sink: unknown
const tasks: Record<string, () => void> = {}
for (const [label, value] of Object.entries(payloads)) {
  const jsonBytes = json.encode(value)
  const msgpackBytes = msgpack.encode(value)
  tasks[`json encode ${label}`] = () => {
    sink = json.encode(value)
  }
  tasks[`msgpackr encode ${label}`] = () => {
    sink = msgpack.encode(value)
  }
  tasks[`json decode ${label}`] = () => {
    sink = json.decode(jsonBytes)
  }
  tasks[`msgpackr decode ${label}`] = () => {
    sink = msgpack.decode(msgpackBytes)
  }
  console.error(`${label}: json ${jsonBytes.byteLength} B, msgpackr ${msgpackBytes.byteLength} B`)
}

const samples = await runRounds(tasks, roundOptions(process.argv))
void sink

console.log('### Value codec: JSON vs msgpackr (records)\n')
console.log(table(samples))
console.log('')
let jsonTime = 0
let msgpackTime = 0
for (const label of Object.keys(payloads)) {
  for (const op of ['encode', 'decode']) {
    const r = ratio(samples, `msgpackr ${op} ${label}`, `json ${op} ${label}`)
    console.log(`- msgpackr / json, ${op} ${label}: ${r.toFixed(2)}x ops/s`)
    jsonTime += 1 / median(samples.get(`json ${op} ${label}`) ?? [1])
    msgpackTime += 1 / median(samples.get(`msgpackr ${op} ${label}`) ?? [1])
  }
}
const winner = msgpackTime < jsonTime ? 'msgpackr' : 'json'
console.log(
  `\nEncode+decode time over both payloads: json ${(jsonTime * 1e6).toFixed(1)} µs, msgpackr ${(msgpackTime * 1e6).toFixed(1)} µs -> default: **${winner}**`,
)
