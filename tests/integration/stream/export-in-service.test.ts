import { parse } from 'csv-parse/sync'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { buildApp } from '../../../service/src/app.js'
import { loadConfig } from '../../../service/src/config.js'
import type { ServiceApp } from '../../../service/src/context.js'
import { createDatabase, type ServiceDatabase } from '../../../service/src/db/create-database.js'
import { exportRoutes } from '../../../service/src/exports/export-routes.js'
import { seedDatabase } from '../../../service/src/seed.js'

// The export plugin inside the real service app: its strict validator, error handler and hooks
// must leave the export routes working.
describe('export routes registered in the service app', () => {
  let dir: string
  let database: ServiceDatabase
  let app: ServiceApp

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hotpath-export-app-'))
    const url = `sqlite:${path.join(dir, 'app.db')}`
    const config = loadConfig({ DATABASE_URL: url, LOG_LEVEL: 'silent' })
    database = await createDatabase(config.database)
    await seedDatabase(database, { items: 500, users: 0, posts: 0 })
    app = await buildApp(config, {
      database,
      plugins: [
        async (instance) => {
          await instance.register(exportRoutes, { database: instance.service.database })
        },
      ],
    })
  })

  afterAll(async () => {
    await app?.close()
    await database?.close()
    await fs.promises.rm(dir, { recursive: true, force: true })
  })

  it('streams CSV and answers bad input with the service error format', async () => {
    const ok = await app.inject({ method: 'GET', url: '/export/items.csv?columns=id,name' })
    expect(ok.statusCode).toBe(200)
    expect(parse(ok.body)).toHaveLength(501)
    const bad = await app.inject({ method: 'GET', url: '/export/items.csv?columns=password' })
    expect(bad.statusCode).toBe(400)
    expect(bad.json()).toMatchObject({ error: { code: 'E_EXPORT_UNKNOWN_COLUMN' } })
  })
})
