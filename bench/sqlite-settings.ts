/**
 * What does a primary-key read cost through better-sqlite3, and which connection settings matter?
 * Compares journal mode, synchronous, locking mode, mmap and page cache on raw better-sqlite3, then
 * the same read through Kysely: a query built per call on the stock dialect, and the service's path
 * (query compiled once + cached prepared statement).
 *
 *   npx tsx bench/sqlite-settings.ts [--items 100000] [--time 1000] [--rounds 3]
 *
 * Each sample reads BATCH random ids, so timer overhead does not dominate a ~µs operation. Tasks
 * run in several rounds and the best round counts: on a shared machine, load only ever adds time.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import BetterSqlite3 from 'better-sqlite3'
import { Kysely, SqliteDialect } from 'kysely'
import { Bench } from 'tinybench'
import { createDatabase, SQLITE_PRAGMAS } from '../service/src/db/create-database.js'
import type { Database } from '../service/src/db/database.js'
import { ItemsRepository } from '../service/src/items/repository.js'
import { seedDatabase } from '../service/src/seed.js'
import { SqliteStatementCache } from '../service/src/db/sqlite-statement-cache.js'
import { mulberry32 } from '../service/src/util/mulberry32.js'

const { values } = parseArgs({
  options: {
    items: { type: 'string', default: '100000' },
    time: { type: 'string', default: '1000' },
    rounds: { type: 'string', default: '3' },
  },
})
const ROUNDS = Number(values.rounds)
const ITEMS = Number(values.items)
const TIME_MS = Number(values.time)
const BATCH = 100
const SQL =
  'select id, name, category, price, description, updated_at as updatedAt, version from items where id = ?'

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hotpath-sqlite-bench-'))
const template = path.join(dir, 'template.db')

// Seed once, then leave the template in rollback-journal mode so each variant picks its own.
{
  const database = await createDatabase({ dialect: 'sqlite', filename: template })
  await seedDatabase(database, { items: ITEMS, users: 1, posts: 0 })
  await database.close()
  const sqlite = new BetterSqlite3(template)
  sqlite.pragma('journal_mode = DELETE')
  sqlite.close()
}

let copies = 0
function open(pragmas: readonly string[]): BetterSqlite3.Database {
  const file = path.join(dir, `variant-${copies++}.db`)
  fs.copyFileSync(template, file)
  const sqlite = new BetterSqlite3(file)
  for (const pragma of pragmas) sqlite.pragma(pragma)
  return sqlite
}

const ids = (() => {
  const random = mulberry32(1)
  return Array.from({ length: 1 << 16 }, () => 1 + Math.floor(random() * ITEMS))
})()
let cursor = 0
const nextId = () => ids[cursor++ & 0xffff] as number

const WAL = ['journal_mode = WAL', 'synchronous = NORMAL']
const EXCLUSIVE = 'locking_mode = EXCLUSIVE'
const rawVariants: Array<[string, readonly string[]]> = [
  ['defaults (rollback journal, synchronous FULL)', []],
  ['WAL + synchronous NORMAL', WAL],
  ['WAL + NORMAL + mmap 256 MiB', [...WAL, 'mmap_size = 268435456']],
  ['WAL + NORMAL + cache 64 MiB', [...WAL, 'cache_size = -65536']],
  // EXCLUSIVE must come before WAL: only then is the WAL index kept in heap memory without the
  // shared-memory file locks. Set after WAL it changes nothing on the read path.
  ['WAL + NORMAL + locking EXCLUSIVE', [EXCLUSIVE, ...WAL]],
  ['service pragmas (chosen)', SQLITE_PRAGMAS],
  ['service pragmas + locking EXCLUSIVE', [EXCLUSIVE, ...SQLITE_PRAGMAS]],
]

const tasks: Array<[string, () => unknown]> = []
const bench = { add: (name: string, fn: () => unknown) => tasks.push([name, fn]) }
const closers: Array<() => unknown> = []

for (const [name, pragmas] of rawVariants) {
  const sqlite = open(pragmas)
  closers.push(() => sqlite.close())
  const statement = sqlite.prepare(SQL)
  bench.add(`raw, prepared once: ${name}`, () => {
    for (let i = 0; i < BATCH; i++) statement.get(nextId())
  })
}
{
  const sqlite = open(SQLITE_PRAGMAS)
  closers.push(() => sqlite.close())
  bench.add('raw, prepare per read: service pragmas', () => {
    for (let i = 0; i < BATCH; i++) sqlite.prepare(SQL).get(nextId())
  })
}
{
  const sqlite = open(SQLITE_PRAGMAS)
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) })
  closers.push(() => db.destroy())
  bench.add('Kysely, stock dialect, query built per read', async () => {
    for (let i = 0; i < BATCH; i++) {
      await db
        .selectFrom('items')
        .select(['id', 'name', 'category', 'price', 'description', 'updated_at as updatedAt', 'version'])
        .where('id', '=', nextId())
        .executeTakeFirst()
    }
  })
}
{
  const sqlite = open(SQLITE_PRAGMAS)
  const db = new Kysely<Database>({
    dialect: new SqliteDialect({ database: new SqliteStatementCache(sqlite) }),
  })
  closers.push(() => db.destroy())
  bench.add('Kysely + statement cache, query built per read', async () => {
    for (let i = 0; i < BATCH; i++) {
      await db
        .selectFrom('items')
        .select(['id', 'name', 'category', 'price', 'description', 'updated_at as updatedAt', 'version'])
        .where('id', '=', nextId())
        .executeTakeFirst()
    }
  })
  const items = new ItemsRepository(db)
  bench.add('ItemsRepository.findById (compiled once + statement cache)', async () => {
    for (let i = 0; i < BATCH; i++) await items.findById(nextId())
  })
}

const best = new Map<string, number>()
for (let round = 0; round < ROUNDS; round++) {
  const run = new Bench({ time: TIME_MS, warmupTime: Math.min(200, TIME_MS) })
  for (const [name, fn] of tasks) run.add(name, fn)
  await run.run()
  for (const task of run.tasks) {
    const result = task.result as { latency?: { mean: number } } | undefined
    const micros = result?.latency === undefined ? Number.NaN : (result.latency.mean * 1000) / BATCH
    best.set(task.name, Math.min(best.get(task.name) ?? Number.POSITIVE_INFINITY, micros))
  }
}

const baseline = best.get(tasks.find(([name]) => name.endsWith('(chosen)'))?.[0] ?? '') ?? Number.NaN
console.log(
  `\nPrimary-key read of one item, ${ITEMS} items, best of ${ROUNDS} rounds, Node ${process.version}, ` +
    `${os.cpus()[0]?.model ?? ''} x${os.cpus().length}`,
)
console.table(
  tasks.map(([name]) => {
    const micros = best.get(name) ?? Number.NaN
    return {
      variant: name,
      'µs per read': micros.toFixed(2),
      'reads/s': Math.round(1e6 / micros).toLocaleString('en'),
      'vs chosen': `${(micros / baseline).toFixed(2)}x`,
    }
  }),
)

for (const close of closers) await close()
fs.rmSync(dir, { recursive: true, force: true })
