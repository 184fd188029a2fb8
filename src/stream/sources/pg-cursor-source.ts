import { InvalidOptionError } from '../../errors.js'
import { DEFAULT_BATCH_SIZE } from '../defaults.js'
import { rowBatches, type RowBatchSource } from '../row-source.js'
import { withSettlingClose } from './pg-cursor-close-fix.js'

/** The part of a pg-cursor `Cursor` this source uses (typed by shape: `pg-cursor` stays optional). */
export interface PgCursorReader<Row> {
  read(rows: number): Promise<Row[]>
  close(): Promise<void> | undefined
}

/** The part of a pg `PoolClient` this source uses. */
export interface PgCursorClient {
  query<C>(cursor: C): C
  release(destroy?: boolean | Error): void
}

/** The part of a pg `Pool` this source uses. */
export interface PgCursorPool {
  connect(): Promise<PgCursorClient>
}

/** A SELECT with `$n` placeholders, such as Kysely's `query.compile()`. */
export interface PgCursorQuery {
  sql: string
  parameters?: readonly unknown[]
}

// A class given by the caller (pg-cursor's default export): its constructor takes `any[]`.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type CursorClass = new (...args: any[]) => PgCursorReader<any>

export interface PgCursorSourceOptions {
  /**
   * Rows per round trip (`cursor.read(n)`).
   * @default 1000
   */
  batchSize?: number
}

/**
 * Rows of a SELECT read through a server-side cursor (pg-cursor), handed to the encoder a batch at
 * a time. Compared with Kysely's `.stream()` (one async step per row through several generator
 * layers), this costs one promise per batch, and it asks for the next batch before the current
 * one is encoded, so PostgreSQL produces rows while Node formats the previous ones.
 *
 * The connection is checked out of `pool` on the first read and given back when the rows end,
 * when the consumer stops early (the encoder stream is destroyed: the client left), or on error
 * (then the connection is discarded, never reused). `close()` settles at once on a cursor whose
 * connection died ({@link withSettlingClose}).
 *
 * @example
 * import Cursor from 'pg-cursor'
 * const rows = pgCursorSource(pool, Cursor, db.selectFrom('items').selectAll().orderBy('id').compile())
 * await pipeExport(toCsv(rows, ['id', 'name']), response)
 */
export function pgCursorSource<Row>(
  pool: PgCursorPool,
  Cursor: CursorClass,
  query: PgCursorQuery,
  options: PgCursorSourceOptions = {},
): RowBatchSource<Row> {
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE
  if (!Number.isInteger(batchSize) || batchSize <= 0) {
    throw new InvalidOptionError('batchSize', batchSize, 'a positive integer')
  }
  const Settling = withSettlingClose(Cursor)
  return rowBatches(readBatches<Row>(pool, Settling, query, batchSize))
}

async function* readBatches<Row>(
  pool: PgCursorPool,
  Cursor: CursorClass,
  query: PgCursorQuery,
  batchSize: number,
): AsyncGenerator<Row[], void, undefined> {
  const client = await pool.connect()
  let failure: Error | undefined
  let cursor: PgCursorReader<Row> | undefined
  // The read in flight while the consumer encodes the previous batch (never left unobserved).
  let pending: Promise<Row[]> | undefined
  try {
    cursor = client.query(new Cursor(query.sql, query.parameters ? [...query.parameters] : []))
    pending = cursor.read(batchSize)
    for (;;) {
      const rows = await pending
      pending = undefined
      if (rows.length === 0) return
      if (rows.length === batchSize) {
        pending = cursor.read(batchSize)
        // Observed now so an error while the consumer is busy is not an unhandled rejection; it
        // is rethrown by the `await` above on the next turn.
        pending.catch(() => {})
      }
      yield rows
      if (pending === undefined) return
    }
  } catch (error) {
    failure = error as Error
    throw error
  } finally {
    if (pending) {
      // Stopped early with a read in flight: let it finish (one batch at most) before closing.
      await pending.catch((error: unknown) => {
        failure ??= error as Error
      })
    }
    try {
      if (cursor && failure === undefined) await cursor.close()
    } catch (error) {
      failure = error as Error
    }
    client.release(failure ?? false)
  }
}
