import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ServiceDatabase } from '../../../service/src/db/create-database.js'
import type { Item } from '../../../service/src/items/schemas.js'
import { sql } from 'kysely'
import {
  ITEM_TOMBSTONES_TABLE,
  ItemsWriteRepository,
} from '../../../service/src/write-strategy/items-write-repository.js'
import { BACKENDS, createTestDatabase, seedItems, type TestDatabase } from './support/databases.js'

const item = (id: number, version: number, name = `v${version}`): Item => ({
  id,
  name,
  category: 'c',
  price: 10 * version,
  description: '',
  updatedAt: new Date(1_700_000_000_000 + version).toISOString(),
  version,
})

for (const backend of BACKENDS) {
  describe.runIf(backend.available)(`ItemsWriteRepository on ${backend.dialect}`, () => {
    let target: TestDatabase
    let database: ServiceDatabase
    let repository: ItemsWriteRepository

    beforeAll(async () => {
      target = await createTestDatabase(backend.dialect)
      database = await target.open()
      await seedItems(database, 10)
      repository = new ItemsWriteRepository(database.db, database.dialect)
      await repository.ensureSchema()
      await repository.ensureSchema()
    })

    afterAll(async () => {
      await database?.close()
      await target?.drop()
    })

    it('creates its schema once when several instances start at the same moment', async () => {
      // Separate pools, as separate service processes have.
      const others = await Promise.all(Array.from({ length: 4 }, () => target.open()))
      try {
        for (let attempt = 0; attempt < 5; attempt++) {
          await sql`DROP TABLE IF EXISTS ${sql.table(ITEM_TOMBSTONES_TABLE)}`.execute(database.db)
          const results = await Promise.allSettled(
            [database, ...others].map((handle) =>
              new ItemsWriteRepository(handle.db, handle.dialect).ensureSchema(),
            ),
          )
          expect(results.filter((result) => result.status === 'rejected')).toEqual([])
        }
      } finally {
        await Promise.all(others.map((handle) => handle.close()))
      }
      // One table, empty and usable, after the race.
      const { rows } = await sql<{
        count: number | string
      }>`SELECT count(*) AS count FROM ${sql.table(ITEM_TOMBSTONES_TABLE)}`.execute(database.db)
      expect(Number(rows[0]?.count)).toBe(0)
    })

    it('upserts only a newer version; duplicates and older versions change nothing', async () => {
      await repository.upsert([item(1, 5)])
      expect(await repository.load(1)).toEqual(item(1, 5))
      await repository.upsert([item(1, 5, 'duplicate delivery')])
      await repository.upsert([item(1, 3, 'late and older')])
      expect(await repository.load(1)).toEqual(item(1, 5))
      await repository.upsert([item(1, 6)])
      expect((await repository.load(1))?.name).toBe('v6')
    })

    it('inserts a new id, and the database hands out later ids after it', async () => {
      await repository.upsert([item(500, 1)])
      expect(await repository.loadMany([500, 404, 2])).toEqual([
        item(500, 1),
        undefined,
        expect.objectContaining({ id: 2 }),
      ])
      const created = await database.db
        .insertInto('items')
        .values({
          name: 'plain',
          category: 'c',
          price: 1,
          description: '',
          updated_at: new Date().toISOString(),
          version: 1,
        })
        .returning('id')
        .executeTakeFirstOrThrow()
      expect(created.id).toBeGreaterThan(500)
    })

    it('deletes only an older row and never lets an older upsert revive it', async () => {
      await repository.delete([{ id: 2, version: 1 }])
      expect(await repository.load(2)).toBeDefined()
      await repository.delete([{ id: 2, version: 3 }])
      expect(await repository.load(2)).toBeUndefined()
      await repository.upsert([item(2, 2, 'stale upsert after the delete')])
      await repository.upsert([item(2, 3, 'same version as the delete')])
      expect(await repository.load(2)).toBeUndefined()
      await repository.upsert([item(2, 4, 'newer than the delete')])
      expect((await repository.load(2))?.name).toBe('newer than the delete')
    })

    it('applies a mixed batch row by row by version (newer, older, new id, delete)', async () => {
      await repository.apply({
        upserts: [item(6, 4), item(7, 1, 'same version as stored'), item(600, 2)],
        deletes: [
          { id: 8, version: 2 },
          { id: 9, version: 1 },
        ],
      })
      const rows = await repository.loadMany([6, 7, 600, 8, 9])
      expect(rows.map((row) => row?.version)).toEqual([4, 1, 2, undefined, 1])
      expect(rows[1]?.name).toBe('item 7')
      await repository.apply({ upserts: [item(8, 2, 'older than its delete'), item(9, 2)], deletes: [] })
      expect((await repository.loadMany([8, 9])).map((row) => row?.name)).toEqual([undefined, 'v2'])
    })

    it('applies a batch in one transaction: a failing row rolls back the whole batch', async () => {
      const bad = { ...item(3, 9), name: null as unknown as string }
      await expect(
        repository.apply({ upserts: [item(4, 9), bad], deletes: [{ id: 5, version: 9 }] }),
      ).rejects.toThrow()
      expect((await repository.load(4))?.version).toBe(1)
      expect(await repository.load(5)).toBeDefined()
    })
  })
}
