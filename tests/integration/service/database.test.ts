/** The database layer on both dialects: migrations, value types, and the query channel. */
import diagnosticsChannel from 'node:diagnostics_channel'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseDatabaseUrl } from '../../../service/src/config.js'
import { createDatabase, type ServiceDatabase } from '../../../service/src/db/create-database.js'
import { DB_QUERY_CHANNEL, type DbQueryMessage } from '../../../service/src/db/query-channel.js'
import { ItemsRepository } from '../../../service/src/items/repository.js'
import { hasPostgres } from '../../helpers/services.js'
import { BACKENDS, createPostgresDatabase, createSqliteDatabase, type TestDatabase } from './backends.js'

describe.each(BACKENDS)('database on $name', (backend) => {
  describe.runIf(backend.enabled)(backend.name, () => {
    let testDb: TestDatabase
    let database: ServiceDatabase

    beforeAll(async () => {
      testDb = await backend.create()
      database = await createDatabase(parseDatabaseUrl(testDb.url), { poolSize: 2 })
    })

    afterAll(async () => {
      await database?.close()
      await testDb?.drop()
    })

    it('migrates once: opening an up-to-date database again changes nothing', async () => {
      const again = await createDatabase(parseDatabaseUrl(testDb.url), { poolSize: 1 })
      try {
        const migrations = await sql<{
          name: string
        }>`select name from kysely_migration order by name`.execute(again.db)
        expect(migrations.rows.map((row) => row.name)).toEqual(['0001-initial'])
      } finally {
        await again.close()
      }
    })

    it('returns timestamps as ISO strings and counts as numbers on both dialects', async () => {
      const items = new ItemsRepository(database.db)
      const created = await items.create({ name: 'Typed', category: 'c', price: 12 })
      expect(created.updatedAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
      expect(await items.findById(created.id)).toEqual(created)
      expect(await items.count()).toBe(1)
      expect(typeof (await items.count())).toBe('number')
    })

    it('publishes every query on hotpath:db:query with sql, duration and dialect, never parameters', async () => {
      const messages: DbQueryMessage[] = []
      const listener = (message: unknown) => messages.push(message as DbQueryMessage)
      diagnosticsChannel.subscribe(DB_QUERY_CHANNEL, listener)
      try {
        await database.db.selectFrom('items').select('id').where('name', '=', 'secret-parameter').execute()
        await expect(sql`select * from no_such_table`.execute(database.db)).rejects.toThrow()
      } finally {
        diagnosticsChannel.unsubscribe(DB_QUERY_CHANNEL, listener)
      }
      expect(messages).toHaveLength(2)
      const [select, failed] = messages
      expect(select).toEqual({
        sql: expect.stringContaining('from "items"'),
        durationMs: expect.any(Number),
        dialect: backend.name,
      })
      expect(JSON.stringify(select)).not.toContain('secret-parameter')
      expect(failed).toMatchObject({ sql: 'select * from no_such_table', dialect: backend.name })
      expect(failed?.error).toBeInstanceOf(Error)
    })

    it('streams rows (for exports) without loading them all', async () => {
      const items = new ItemsRepository(database.db)
      for (let i = 0; i < 5; i++) await items.create({ name: `Stream ${i}`, category: 's', price: i })
      const seen: number[] = []
      for await (const row of database.db
        .selectFrom('items')
        .select(['id', 'price'])
        .where('category', '=', 's')
        .orderBy('id')
        .stream(2)) {
        seen.push(row.price)
      }
      expect(seen).toEqual([0, 1, 2, 3, 4])
    })

    it('a stream on a reader does not hold up other queries', async () => {
      const items = new ItemsRepository(database.db)
      const reader = await database.openReader()
      try {
        const rows = reader.db.selectFrom('items').select('id').orderBy('id').stream(1)
        const stream = rows[Symbol.asyncIterator]()
        const first = await stream.next()
        expect(first.done).toBe(false)
        // With the stream open, a query on the main connection must still complete.
        const outcome = await Promise.race([
          items.count().then(() => 'completed'),
          new Promise((resolve) => setTimeout(resolve, 5_000, 'blocked')),
        ])
        expect(outcome).toBe('completed')
        await stream.return?.()
      } finally {
        await reader.close()
      }
    })

    it('has the indexes the queries need', async () => {
      const names =
        backend.name === 'sqlite'
          ? (
              await sql<{ name: string }>`select name from sqlite_master where type = 'index'`.execute(
                database.db,
              )
            ).rows
          : (
              await sql<{
                name: string
              }>`select indexname as name from pg_indexes where schemaname = 'public'`.execute(database.db)
            ).rows
      expect(names.map((row) => row.name)).toEqual(
        expect.arrayContaining([
          'items_category_id_idx',
          'items_price_id_idx',
          'items_name_id_idx',
          'items_updated_at_id_idx',
          'posts_user_id_id_idx',
          'users_api_token_hash_idx',
        ]),
      )
    })
  })
})

describe.runIf(hasPostgres)('PostgreSQL prepared statements', () => {
  it('sends DML as named prepared statements, DDL unnamed', async () => {
    const testDb = await createPostgresDatabase()
    const single = await createDatabase(parseDatabaseUrl(testDb.url), { poolSize: 1 })
    try {
      const items = new ItemsRepository(single.db)
      const first = await items.create({ name: 'Prepared', category: 'p', price: 1 })
      expect(await items.findById(first.id)).toEqual(first)
      expect(await items.findById(first.id)).toEqual(first)
      const prepared = await sql<{
        statement: string
      }>`select statement from pg_prepared_statements`.execute(single.db)
      const statements = prepared.rows.map((row) => row.statement)
      expect(statements.some((statement) => /from "items" where "id" = \$1/.test(statement))).toBe(true)
      expect(statements.some((statement) => /^\s*create/i.test(statement))).toBe(false)
    } finally {
      await single.close()
      await testDb.drop()
    }
  })
})

describe('SQLite exclusive locking', () => {
  it('keeps the database to itself and streams on the main connection', async () => {
    const testDb = await createSqliteDatabase()
    const target = parseDatabaseUrl(testDb.url)
    const exclusive = await createDatabase(target, { sqliteLockingMode: 'exclusive' })
    try {
      const reader = await exclusive.openReader()
      expect(reader.db).toBe(exclusive.db)
      await reader.close()
      expect(await new ItemsRepository(exclusive.db).count()).toBe(0)
      // Another connection cannot even read while the exclusive one holds the file.
      await expect(createDatabase(target, { migrate: true })).rejects.toThrow(/locked/)
    } finally {
      await exclusive.close()
      await testDb.drop()
    }
  })
})
