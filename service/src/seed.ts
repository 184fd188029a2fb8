import { setImmediate as yieldToEventLoop } from 'node:timers/promises'
import type BetterSqlite3 from 'better-sqlite3'
import { sql } from 'kysely'
import type pg from 'pg'
import { InvalidOptionError } from '../../src/errors.js'
import type { ServiceDatabase } from './db/create-database.js'
import {
  generateItem,
  generatePost,
  generateUser,
  streamFor,
  type SeedItem,
  type SeedPost,
  type SeedUser,
} from './seed-data.js'

export const DEFAULT_SEED_BATCH_SIZE = 5_000

export type SeedTable = 'items' | 'users' | 'posts'

export interface SeedProgress {
  table: SeedTable
  done: number
  total: number
}

export interface SeedOptions {
  /** @default 100000 */
  items?: number
  /** @default 10000 */
  users?: number
  /** @default 200000 */
  posts?: number
  /**
   * Seed of the generator: the same seed always produces the same rows.
   * @default 42
   */
  seed?: number
  /**
   * Rows per INSERT batch (one transaction per table).
   * @default 5000
   */
  batchSize?: number
  /** Called after each batch. */
  onProgress?: (progress: SeedProgress) => void
}

export interface SeedResult {
  items: number
  users: number
  posts: number
  seed: number
}

const DEFAULTS = { items: 100_000, users: 10_000, posts: 200_000, seed: 42 } as const

/**
 * Replace every row with deterministic seed data: same seed and counts, same rows, on both
 * dialects. SQLite uses one prepared statement per table inside a transaction; PostgreSQL sends
 * batches as `INSERT … SELECT FROM unnest(…)`, one array parameter per column.
 *
 * @example
 * await seedDatabase(database, { items: 1000, users: 100, posts: 2000, seed: 7 })
 */
export async function seedDatabase(
  database: ServiceDatabase,
  options: SeedOptions = {},
): Promise<SeedResult> {
  const counts = {
    items: count(options.items ?? DEFAULTS.items, 'items'),
    users: count(options.users ?? DEFAULTS.users, 'users'),
    posts: count(options.posts ?? DEFAULTS.posts, 'posts'),
    seed: count(options.seed ?? DEFAULTS.seed, 'seed'),
  }
  if (counts.posts > 0 && counts.users === 0) {
    throw new InvalidOptionError(
      'posts',
      counts.posts,
      '0 when there are no users (every post needs an author)',
    )
  }
  const batchSize = Math.max(1, options.batchSize ?? DEFAULT_SEED_BATCH_SIZE)
  const report = options.onProgress ?? (() => {})
  const writer =
    database.raw.dialect === 'sqlite' ? sqliteWriter(database.raw.sqlite) : pgWriter(database.raw.pool)

  await writer.clear()
  const items = streamFor(counts.seed, 'items')
  await writer.insert('items', counts.items, batchSize, (id) => generateItem(items, id), report)
  const users = streamFor(counts.seed, 'users')
  await writer.insert('users', counts.users, batchSize, (id) => generateUser(users, id, counts.seed), report)
  const posts = streamFor(counts.seed, 'posts')
  await writer.insert('posts', counts.posts, batchSize, (id) => generatePost(posts, id, counts.users), report)
  await writer.finish()
  await sql`analyze`.execute(database.db)
  return counts
}

function count(value: number, option: string): number {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new InvalidOptionError(option, value, 'a non-negative integer')
  }
  return value
}

type Row = SeedItem | SeedUser | SeedPost

interface Writer {
  clear(): Promise<void>
  insert(
    table: SeedTable,
    total: number,
    batchSize: number,
    generate: (id: number) => Row,
    report: (progress: SeedProgress) => void,
  ): Promise<void>
  finish(): Promise<void>
}

const COLUMNS: Record<SeedTable, readonly string[]> = {
  items: ['id', 'name', 'category', 'price', 'description', 'updated_at', 'version'],
  users: ['id', 'name', 'email', 'api_token_hash', 'balance_cents', 'created_at'],
  posts: ['id', 'user_id', 'title', 'body', 'created_at'],
}

function sqliteWriter(sqlite: BetterSqlite3.Database): Writer {
  return {
    clear() {
      sqlite.transaction(() => {
        for (const table of ['posts', 'users', 'items']) sqlite.prepare(`delete from ${table}`).run()
      })()
      return Promise.resolve()
    },
    async insert(table, total, batchSize, generate, report) {
      const columns = COLUMNS[table]
      const statement = sqlite.prepare(
        `insert into ${table} (${columns.join(', ')}) values (${columns.map((c) => `@${c}`).join(', ')})`,
      )
      const insertBatch = sqlite.transaction((from: number, to: number) => {
        for (let id = from; id <= to; id++) statement.run(generate(id))
      })
      for (let from = 1; from <= total; from += batchSize) {
        const to = Math.min(total, from + batchSize - 1)
        insertBatch(from, to)
        report({ table, done: to, total })
        // Lets a progress bar redraw and signals through between batches.
        await yieldToEventLoop()
      }
    },
    finish: () => Promise.resolve(),
  }
}

const PG_TYPES: Record<SeedTable, readonly string[]> = {
  items: ['int[]', 'text[]', 'text[]', 'int[]', 'text[]', 'timestamptz[]', 'int[]'],
  users: ['int[]', 'text[]', 'text[]', 'text[]', 'int[]', 'timestamptz[]'],
  posts: ['int[]', 'int[]', 'text[]', 'text[]', 'timestamptz[]'],
}

function pgWriter(pool: pg.Pool): Writer {
  return {
    async clear() {
      await pool.query('truncate table posts, users, items restart identity cascade')
    },
    async insert(table, total, batchSize, generate, report) {
      const columns = COLUMNS[table]
      const unnest = PG_TYPES[table].map((type, i) => `$${i + 1}::${type}`).join(', ')
      const text = `insert into ${table} (${columns.join(', ')}) select * from unnest(${unnest})`
      const client = await pool.connect()
      try {
        await client.query('begin')
        for (let from = 1; from <= total; from += batchSize) {
          const to = Math.min(total, from + batchSize - 1)
          const arrays: unknown[][] = columns.map(() => [])
          for (let id = from; id <= to; id++) {
            const row = generate(id) as unknown as Record<string, unknown>
            columns.forEach((column, i) => arrays[i]?.push(row[column]))
          }
          await client.query(text, arrays)
          report({ table, done: to, total })
        }
        await client.query('commit')
      } catch (error) {
        await client.query('rollback').catch(() => {})
        throw error
      } finally {
        client.release()
      }
    },
    async finish() {
      // Explicit ids leave the identity sequences behind; the next INSERT must not collide.
      for (const table of ['items', 'users', 'posts']) {
        await pool.query(
          `select setval(pg_get_serial_sequence('${table}', 'id'), coalesce(max(id), 1), max(id) is not null) from ${table}`,
        )
      }
    },
  }
}
