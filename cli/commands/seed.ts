import { type Command, InvalidArgumentError } from 'commander'
import cliProgress from 'cli-progress'
import { tokenForUser } from '../../service/src/auth/token.js'
import { loadConfig } from '../../service/src/config.js'
import { createDatabase } from '../../service/src/db/create-database.js'
import { seedDatabase, type SeedProgress } from '../../service/src/seed.js'

interface SeedFlags {
  items?: number
  users?: number
  posts?: number
  seed?: number
  databaseUrl?: string
  progress: boolean
}

/** Parse a non-negative integer option value. */
export function parseCount(value: string): number {
  const parsed = Number(value)
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(parsed)) {
    throw new InvalidArgumentError(`expected a non-negative integer, got "${value}".`)
  }
  return parsed
}

/**
 * `hotpath seed`: replace the database's rows with deterministic data (same `--seed`, same rows),
 * with a progress bar, then print how to call `GET /me/balance` as user 1.
 */
export function registerSeedCommand(program: Command): void {
  program
    .command('seed')
    .description('Replace all rows with deterministic seed data (items, users, posts).')
    .option('--items <count>', 'items to create (default: SEED_ITEMS or 100000)', parseCount)
    .option('--users <count>', 'users to create (default: SEED_USERS or 10000)', parseCount)
    .option('--posts <count>', 'posts to create (default: SEED_POSTS or 200000)', parseCount)
    .option('--seed <number>', 'generator seed (default: SEED or 42)', parseCount)
    .option('--database-url <url>', 'database (default: DATABASE_URL or sqlite:data/hotpath.db)')
    .option('--no-progress', 'do not draw a progress bar')
    .action(async (flags: SeedFlags) => {
      const config = loadConfig(process.env, { databaseUrl: flags.databaseUrl })
      const sizes = {
        items: flags.items ?? config.seed.items,
        users: flags.users ?? config.seed.users,
        posts: flags.posts ?? config.seed.posts,
        seed: flags.seed ?? config.seed.seed,
      }
      const database = await createDatabase(config.database, { poolSize: 2 })
      const started = performance.now()
      const bar = new cliProgress.SingleBar(
        {
          format: '{table} [{bar}] {percentage}% | {value}/{total} rows | {rate} rows/s',
          hideCursor: true,
        },
        cliProgress.Presets.shades_classic,
      )
      let current: { table: string; started: number } | undefined
      // A table's first report comes after its first batch: its clock starts at the previous report.
      let lastReport = started
      const onProgress = (progress: SeedProgress) => {
        const now = performance.now()
        if (current?.table !== progress.table) {
          if (current !== undefined && flags.progress) bar.stop()
          current = { table: progress.table, started: lastReport }
          if (flags.progress) bar.start(progress.total, 0, { table: progress.table.padEnd(5), rate: 0 })
        }
        lastReport = now
        const seconds = (now - current.started) / 1000
        if (flags.progress)
          bar.update(progress.done, { rate: seconds > 0 ? Math.round(progress.done / seconds) : 0 })
      }
      try {
        const result = await seedDatabase(database, { ...sizes, onProgress })
        if (current !== undefined) bar.stop()
        const seconds = (performance.now() - started) / 1000
        const rows = result.items + result.users + result.posts
        console.log(
          `Seeded ${result.items} items, ${result.users} users, ${result.posts} posts (seed ${result.seed}) ` +
            `into ${config.database.dialect} in ${seconds.toFixed(1)} s (${Math.round(rows / seconds)} rows/s).`,
        )
        if (result.users > 0) {
          const token = tokenForUser(result.seed, 1)
          console.log(
            `Bearer token of user 1 (tokenForUser(${result.seed}, 1) in service/src/auth/token.ts):\n  ${token}\n` +
              `Try: curl -H "Authorization: Bearer ${token}" http://${config.host}:${config.port}/me/balance`,
          )
        }
      } finally {
        bar.stop()
        await database.close()
      }
    })
}
