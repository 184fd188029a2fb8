/**
 * The reference service as the dashboard tests need it: in-memory SQLite, seeded, the admin
 * token set (so the dashboard is mounted), profiling on with its own profiles directory, and the
 * N+1 and slow-query detectors low enough to fire.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { buildApp } from '../../../service/src/app.js'
import { loadConfig } from '../../../service/src/config.js'
import type { ServiceApp } from '../../../service/src/context.js'
import { createDatabase } from '../../../service/src/db/create-database.js'
import { seedDatabase } from '../../../service/src/seed.js'

export interface DashboardService {
  readonly app: ServiceApp
  /** `http://127.0.0.1:<port>` of the listening service. */
  readonly base: string
  /** Closes the app and the database, removes the profiles directory. */
  close(): Promise<void>
}

export async function startDashboardService(token: string, items: number): Promise<DashboardService> {
  const profiles = await mkdtemp(path.join(tmpdir(), 'hotpath-dashboard-profiles-'))
  const config = loadConfig({
    DATABASE_URL: 'sqlite::memory:',
    LOG_LEVEL: 'silent',
    ADMIN_TOKEN: token,
    PROFILING: 'on',
    PROFILES_DIR: profiles,
    N_PLUS_ONE_THRESHOLD: '5',
    SLOW_QUERY_MS: '50',
  })
  const database = await createDatabase(config.database, { migrate: true })
  await seedDatabase(database, { items, users: 10, posts: 40, seed: 3 })
  const app = await buildApp(config, { database })
  const base = await app.listen({ port: 0, host: '127.0.0.1' })
  return {
    app,
    base,
    async close() {
      await app.close()
      await database.close()
      await rm(profiles, { recursive: true, force: true })
    },
  }
}
