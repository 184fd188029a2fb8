/** Deterministic seeding: same seed, same rows, on both dialects; seeding replaces; ids continue. */
import { afterAll, describe, expect, it } from 'vitest'
import { parseDatabaseUrl } from '../../../service/src/config.js'
import { createDatabase, type ServiceDatabase } from '../../../service/src/db/create-database.js'
import { ItemsRepository } from '../../../service/src/items/repository.js'
import { seedDatabase } from '../../../service/src/seed.js'
import { hasPostgres } from '../../helpers/services.js'
import { createPostgresDatabase, createSqliteDatabase, type TestDatabase } from './backends.js'

const SIZES = { items: 400, users: 40, posts: 800 }
const created: TestDatabase[] = []
const opened: ServiceDatabase[] = []

async function open(kind: 'sqlite' | 'postgres'): Promise<ServiceDatabase> {
  const testDb = kind === 'sqlite' ? await createSqliteDatabase() : await createPostgresDatabase()
  created.push(testDb)
  const database = await createDatabase(parseDatabaseUrl(testDb.url), { poolSize: 2 })
  opened.push(database)
  return database
}

async function dump(database: ServiceDatabase) {
  return {
    items: await database.db.selectFrom('items').selectAll().orderBy('id').execute(),
    users: await database.db.selectFrom('users').selectAll().orderBy('id').execute(),
    posts: await database.db.selectFrom('posts').selectAll().orderBy('id').execute(),
  }
}

afterAll(async () => {
  for (const database of opened) await database.close()
  for (const testDb of created) await testDb.drop()
})

describe('seedDatabase', () => {
  it('produces the same rows for the same seed and different rows for another seed', async () => {
    const a = await open('sqlite')
    const b = await open('sqlite')
    await seedDatabase(a, { ...SIZES, seed: 11 })
    await seedDatabase(b, { ...SIZES, seed: 11 })
    const dumpA = await dump(a)
    expect(dumpA.items).toHaveLength(400)
    expect(dumpA.users).toHaveLength(40)
    expect(dumpA.posts).toHaveLength(800)
    expect(await dump(b)).toEqual(dumpA)
    await seedDatabase(b, { ...SIZES, seed: 12 })
    const other = await dump(b)
    expect(other.items).toHaveLength(400)
    expect(other.items).not.toEqual(dumpA.items)
  })

  it('replaces the rows instead of appending, and new ids continue after the seeded ones', async () => {
    const database = await open('sqlite')
    await seedDatabase(database, { ...SIZES, seed: 1 })
    await seedDatabase(database, { items: 50, users: 5, posts: 10, seed: 1 })
    const rows = await dump(database)
    expect([rows.items.length, rows.users.length, rows.posts.length]).toEqual([50, 5, 10])
    const item = await new ItemsRepository(database.db).create({ name: 'n', category: 'c', price: 1 })
    expect(item.id).toBe(51)
  })

  it('generates varied text for exports: unicode, commas, quotes, newlines, formula prefixes', async () => {
    const database = await open('sqlite')
    await seedDatabase(database, { items: 2000, users: 1, posts: 0, seed: 42 })
    const { items } = await dump(database)
    const text = items.map((item) => `${item.name}|${item.category}|${item.description}`)
    expect(text.some((value) => /\P{ASCII}/u.test(value))).toBe(true)
    expect(text.some((value) => value.includes(','))).toBe(true)
    expect(text.some((value) => value.includes('"'))).toBe(true)
    expect(text.some((value) => value.includes('\n'))).toBe(true)
    expect(items.some((item) => /^[=+\-@]/.test(item.description))).toBe(true)
  })

  it('rejects posts without users', async () => {
    const database = await open('sqlite')
    await expect(seedDatabase(database, { items: 1, users: 0, posts: 1 })).rejects.toThrow(/posts/)
  })

  describe.runIf(hasPostgres)('on PostgreSQL', () => {
    it('writes exactly the rows SQLite gets for the same seed, and ids continue after them', async () => {
      const sqlite = await open('sqlite')
      const postgres = await open('postgres')
      await seedDatabase(sqlite, { ...SIZES, seed: 5 })
      await seedDatabase(postgres, { ...SIZES, seed: 5, batchSize: 150 })
      expect(await dump(postgres)).toEqual(await dump(sqlite))
      const item = await new ItemsRepository(postgres.db).create({ name: 'n', category: 'c', price: 1 })
      expect(item.id).toBe(SIZES.items + 1)
      await seedDatabase(postgres, { items: 10, users: 2, posts: 3, seed: 5 })
      expect((await dump(postgres)).items).toHaveLength(10)
    })
  })
})
