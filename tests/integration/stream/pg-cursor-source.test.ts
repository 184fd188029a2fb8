import pg from 'pg'
import Cursor from 'pg-cursor'
import { text } from 'node:stream/consumers'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { pgCursorSource, toCsv } from '../../../src/stream/index.js'
import { hasPostgres, POSTGRES_URL } from '../../helpers/services.js'

interface Row {
  n: number
}

describe.runIf(hasPostgres)('pgCursorSource', () => {
  const applicationName = `hotpath_cursor_source_${Math.random().toString(36).slice(2, 10)}`
  let pool: pg.Pool
  let admin: pg.Client

  beforeAll(async () => {
    const url = new URL(POSTGRES_URL)
    url.searchParams.set('application_name', applicationName)
    pool = new pg.Pool({ connectionString: url.toString(), max: 2 })
    pool.on('connect', (client) => client.on('error', () => {}))
    pool.on('error', () => {})
    admin = new pg.Client({ connectionString: POSTGRES_URL })
    await admin.connect()
  })

  afterAll(async () => {
    await pool?.end()
    await admin?.end()
  })

  async function collect(
    source: AsyncIterable<readonly Row[]>,
  ): Promise<{ rows: number[]; batches: number[] }> {
    const rows: number[] = []
    const batches: number[] = []
    for await (const batch of source) {
      batches.push(batch.length)
      for (const row of batch) rows.push(row.n)
    }
    return { rows, batches }
  }

  it('reads every row in order, a batch per round trip, with parameters, and gives the connection back', async () => {
    const source = pgCursorSource<Row>(
      pool,
      Cursor,
      {
        sql: 'select n::int as n from generate_series(1, $1::int) as n order by n',
        parameters: [2_500],
      },
      { batchSize: 1_000 },
    )
    const { rows, batches } = await collect(source)
    expect(rows).toEqual(Array.from({ length: 2_500 }, (_, i) => i + 1))
    expect(batches).toEqual([1_000, 1_000, 500])
    expect(pool.totalCount - pool.idleCount).toBe(0)
  })

  it('ends cleanly when the row count is a multiple of the batch size, and on no rows', async () => {
    const exact = await collect(
      pgCursorSource<Row>(
        pool,
        Cursor,
        { sql: 'select generate_series(1, 2000) as n' },
        { batchSize: 1_000 },
      ),
    )
    expect(exact.rows).toHaveLength(2_000)
    const none = await collect(pgCursorSource<Row>(pool, Cursor, { sql: 'select 1 as n where false' }))
    expect(none.rows).toEqual([])
    expect(pool.totalCount - pool.idleCount).toBe(0)
  })

  it('feeds the CSV encoder', async () => {
    const csv = await text(
      toCsv(
        pgCursorSource<Row>(pool, Cursor, { sql: 'select generate_series(1, 5) as n' }, { batchSize: 2 }),
        ['n'],
      ),
    )
    expect(csv).toBe('n\r\n1\r\n2\r\n3\r\n4\r\n5\r\n')
  })

  it('closes the cursor and releases the connection when the consumer stops early', async () => {
    const stream = toCsv(
      pgCursorSource<Row>(
        pool,
        Cursor,
        { sql: 'select generate_series(1, 10000000) as n' },
        { batchSize: 500 },
      ),
      ['n'],
      { chunkSize: 1024 },
    )
    await new Promise<void>((resolve) => stream.once('data', () => resolve()))
    const closed = new Promise<void>((resolve) => stream.once('close', () => resolve()))
    stream.destroy()
    await closed
    expect(pool.totalCount - pool.idleCount).toBe(0)
    // The released connection is healthy: no cursor left open on it.
    const { rows } = await pool.query<{ one: number }>('select 1 as one')
    expect(rows[0]!.one).toBe(1)
  })

  it('surfaces a query error and discards the connection', async () => {
    const before = pool.totalCount
    await expect(
      collect(pgCursorSource<Row>(pool, Cursor, { sql: 'select * from no_such_table_xyz' })),
    ).rejects.toThrow(/no_such_table_xyz/)
    expect(pool.totalCount - pool.idleCount).toBe(0)
    expect(pool.totalCount).toBeLessThanOrEqual(before)
  })

  it('rejects instead of hanging when the backend dies mid-read, and the pool recovers', async () => {
    const source = pgCursorSource<Row>(
      pool,
      Cursor,
      { sql: 'select generate_series(1, 10000000) as n' },
      { batchSize: 100 },
    )
    const iterator = source[Symbol.asyncIterator]()
    expect((await iterator.next()).done).toBe(false)
    await admin.query(
      `select pg_terminate_backend(pid) from pg_stat_activity where application_name = $1 and pid <> pg_backend_pid()`,
      [applicationName],
    )
    const drained = (async () => {
      for (;;) if ((await iterator.next()).done) return 'ended'
    })()
    await expect(drained).rejects.toThrow()
    expect(pool.totalCount - pool.idleCount).toBe(0)
    const { rows } = await pool.query<{ one: number }>('select 1 as one')
    expect(rows[0]!.one).toBe(1)
  })

  it('rejects a bad batch size', () => {
    expect(() => pgCursorSource(pool, Cursor, { sql: 'select 1' }, { batchSize: 0 })).toThrow(/batchSize/)
  })
})
