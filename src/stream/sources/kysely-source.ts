import { InvalidOptionError } from '../../errors.js'
import { DEFAULT_BATCH_SIZE } from '../defaults.js'

/** The shape of a Kysely select query that can stream (`SelectQueryBuilder`); typed by shape, not by import. */
export interface StreamableQuery<Row> {
  stream(chunkSize?: number): AsyncIterableIterator<Row>
}

export interface KyselySourceOptions {
  /**
   * Rows per database round trip (pg-cursor `read(n)`; SQLite steps row by row regardless).
   * @default 1000
   */
  batchSize?: number
}

/**
 * Rows of a Kysely select query, streamed: SQLite through better-sqlite3's `iterate()`, PostgreSQL
 * through pg-cursor (the `PostgresDialect` needs `cursor: Cursor` from `pg-cursor` in its config).
 * Returning the iterator (what an export does when the client leaves) closes the cursor and
 * releases the connection.
 *
 * @example
 * const rows = kyselySource(db.selectFrom('items').select(['id', 'name']).orderBy('id'), { batchSize: 5000 })
 * await pipeExport(toCsv(rows, ['id', 'name']), response)
 */
export function kyselySource<Row>(
  query: StreamableQuery<Row>,
  options: KyselySourceOptions = {},
): AsyncIterableIterator<Row> {
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE
  if (!Number.isInteger(batchSize) || batchSize <= 0) {
    throw new InvalidOptionError('batchSize', batchSize, 'a positive integer')
  }
  return query.stream(batchSize)
}
