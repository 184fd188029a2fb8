import type { Kysely, Migration } from 'kysely'
import type { Dialect } from '../database.js'

/**
 * The initial schema. Both dialects get the same tables, columns and indexes; only the id and
 * timestamp column types differ (SQLite rowid alias and ISO text vs identity and timestamptz).
 */
export function initialMigration(dialect: Dialect): Migration {
  const timestamp = dialect === 'postgres' ? 'timestamptz' : 'text'
  return {
    // Migrations run before the typed schema exists, hence Kysely<unknown>.
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('users')
        .addColumn('id', 'integer', (c) =>
          dialect === 'postgres' ? c.primaryKey().generatedByDefaultAsIdentity() : c.primaryKey(),
        )
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('email', 'text', (c) => c.notNull().unique())
        .addColumn('api_token_hash', 'text', (c) => c.notNull())
        .addColumn('balance_cents', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', timestamp, (c) => c.notNull())
        .execute()
      await db.schema
        .createIndex('users_api_token_hash_idx')
        .unique()
        .on('users')
        .column('api_token_hash')
        .execute()

      await db.schema
        .createTable('items')
        .addColumn('id', 'integer', (c) =>
          dialect === 'postgres' ? c.primaryKey().generatedByDefaultAsIdentity() : c.primaryKey(),
        )
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('category', 'text', (c) => c.notNull())
        .addColumn('price', 'integer', (c) => c.notNull())
        .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
        .addColumn('updated_at', timestamp, (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull().defaultTo(1))
        .execute()
      // Every list order ends with id, so each sort key gets a (key, id) index.
      await db.schema.createIndex('items_category_id_idx').on('items').columns(['category', 'id']).execute()
      await db.schema.createIndex('items_price_id_idx').on('items').columns(['price', 'id']).execute()
      await db.schema.createIndex('items_name_id_idx').on('items').columns(['name', 'id']).execute()
      await db.schema
        .createIndex('items_updated_at_id_idx')
        .on('items')
        .columns(['updated_at', 'id'])
        .execute()

      await db.schema
        .createTable('posts')
        .addColumn('id', 'integer', (c) =>
          dialect === 'postgres' ? c.primaryKey().generatedByDefaultAsIdentity() : c.primaryKey(),
        )
        .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('title', 'text', (c) => c.notNull())
        .addColumn('body', 'text', (c) => c.notNull())
        .addColumn('created_at', timestamp, (c) => c.notNull())
        .execute()
      await db.schema.createIndex('posts_user_id_id_idx').on('posts').columns(['user_id', 'id']).execute()
    },

    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.dropTable('posts').execute()
      await db.schema.dropTable('items').execute()
      await db.schema.dropTable('users').execute()
    },
  }
}
