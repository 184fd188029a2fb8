/**
 * The payload every HTTP bench target serves: the reference service's items (same generator and
 * seed, so the same rows and JSON sizes), in a SQLite file built once per (count, seed) and shared
 * by the targets of a run.
 */
import { existsSync, renameSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import Database from 'better-sqlite3'
import { generateItem, streamFor } from '../../service/src/seed-data.js'

/** Items in the bench database. */
export const BENCH_ITEMS = 10_000
/** Seed of the bench database (the service's default seed). */
export const BENCH_SEED = 42

/** An item as the API shows it. */
export interface ApiItem {
  id: number
  name: string
  category: string
  price: number
  description: string
  updatedAt: string
  version: number
}

/** Path of the bench database for `count` items, building it first if needed. */
export function ensureItemsDb(count = BENCH_ITEMS, seed = BENCH_SEED): string {
  const file = path.join(tmpdir(), `hotpath-bench-items-${count}-${seed}.db`)
  if (existsSync(file)) return file
  // Build aside and rename, so concurrent targets never open a half-written file.
  const building = `${file}.${process.pid}.building`
  rmSync(building, { force: true })
  const db = new Database(building)
  db.exec(`CREATE TABLE items (
    id INTEGER PRIMARY KEY, name TEXT NOT NULL, category TEXT NOT NULL, price INTEGER NOT NULL,
    description TEXT NOT NULL, updated_at TEXT NOT NULL, version INTEGER NOT NULL)`)
  const insert = db.prepare(
    'INSERT INTO items (id, name, category, price, description, updated_at, version) VALUES (?, ?, ?, ?, ?, ?, ?)',
  )
  const random = streamFor(seed, 'items')
  db.transaction(() => {
    for (let id = 1; id <= count; id++) {
      const item = generateItem(random, id)
      insert.run(
        item.id,
        item.name,
        item.category,
        item.price,
        item.description,
        item.updated_at,
        item.version,
      )
    }
  })()
  db.close()
  renameSync(building, file)
  return file
}

/** Read-only access to the bench items. */
export interface ItemsDb {
  get(id: number): ApiItem | undefined
  close(): void
}

interface ItemRow {
  id: number
  name: string
  category: string
  price: number
  description: string
  updated_at: string
  version: number
}

/** Open the bench database (built on first use). */
export function openItemsDb(count = BENCH_ITEMS, seed = BENCH_SEED): ItemsDb {
  const db = new Database(ensureItemsDb(count, seed), { readonly: true })
  const select = db.prepare<[number], ItemRow>(
    'SELECT id, name, category, price, description, updated_at, version FROM items WHERE id = ?',
  )
  return {
    get(id) {
      const row = select.get(id)
      if (!row) return undefined
      return {
        id: row.id,
        name: row.name,
        category: row.category,
        price: row.price,
        description: row.description,
        updatedAt: row.updated_at,
        version: row.version,
      }
    },
    close: () => db.close(),
  }
}
