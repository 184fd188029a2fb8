import { Migrator, type Kysely, type Migration, type MigrationProvider } from 'kysely'
import type { Dialect } from '../database.js'
import { initialMigration } from './0001-initial.js'

/**
 * Migrations are TypeScript modules imported statically, so they work the same from `tsx` and from
 * the compiled `dist/` (no folder scan at run time). Names sort in the order they apply.
 */
class StaticMigrationProvider implements MigrationProvider {
  readonly #dialect: Dialect

  constructor(dialect: Dialect) {
    this.#dialect = dialect
  }

  getMigrations(): Promise<Record<string, Migration>> {
    return Promise.resolve({ '0001-initial': initialMigration(this.#dialect) })
  }
}

/**
 * Bring the schema to the latest migration.
 *
 * @example
 * await migrateToLatest(db, 'sqlite')
 *
 * @throws the migration's error, with the failed migration's name in the message
 */
export async function migrateToLatest(db: Kysely<unknown>, dialect: Dialect): Promise<void> {
  const migrator = new Migrator({ db, provider: new StaticMigrationProvider(dialect) })
  const { error, results } = await migrator.migrateToLatest()
  if (error !== undefined) {
    const failed = results?.find((result) => result.status === 'Error')?.migrationName ?? 'unknown'
    throw new Error(`Migration "${failed}" failed: ${String(error)}`, { cause: error })
  }
}
