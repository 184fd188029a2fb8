import { CompiledQuery, Kysely, PostgresDialect } from 'kysely'
import pg from 'pg'
import Cursor from 'pg-cursor'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { withSettlingClose } from '../../../src/stream/index.js'
import { hasPostgres, POSTGRES_URL } from '../../helpers/services.js'

type Db = Record<string, never>

describe.runIf(hasPostgres)('withSettlingClose (pg-cursor)', () => {
  const applicationName = `hotpath_stream_cursor_${Math.random().toString(36).slice(2, 10)}`
  let pool: pg.Pool
  let admin: pg.Client

  beforeAll(async () => {
    const url = new URL(POSTGRES_URL)
    url.searchParams.set('application_name', applicationName)
    pool = new pg.Pool({ connectionString: url.toString(), max: 2 })
    // A checked-out client whose connection dies emits 'error'; without a listener that crashes.
    pool.on('connect', (client) => client.on('error', () => {}))
    pool.on('error', () => {})
    admin = new pg.Client({ connectionString: POSTGRES_URL })
    await admin.connect()
  })

  afterAll(async () => {
    await pool?.end()
    await admin?.end()
  })

  async function streamUntilTheBackendDies(cursor: typeof Cursor): Promise<'rejected' | 'hung'> {
    const db = new Kysely<Db>({ dialect: new PostgresDialect({ pool, cursor }) })
    // The executor's stream is what `.stream()` runs: cursor reads, then close, then release.
    const batches = db.getExecutor().stream(CompiledQuery.raw('select generate_series(1, 1000000) as n'), 100)
    const iterator = batches[Symbol.asyncIterator]()
    await iterator.next()
    await admin.query(
      `select pg_terminate_backend(pid) from pg_stat_activity where application_name = $1 and state <> 'idle'`,
      [applicationName],
    )
    let timer: NodeJS.Timeout | undefined
    const hung = new Promise<'hung'>((resolve) => (timer = setTimeout(() => resolve('hung'), 5_000)))
    const drained = (async () => {
      try {
        for (;;) if ((await iterator.next()).done) return 'rejected' as const
      } catch {
        return 'rejected' as const
      }
    })()
    const result = await Promise.race([drained, hung])
    clearTimeout(timer)
    return result
  }

  it('lets a stream whose connection died end with an error and give the connection back', async () => {
    expect(await streamUntilTheBackendDies(withSettlingClose(Cursor))).toBe('rejected')
    // The dead client was released (and dropped) rather than held forever.
    expect(pool.totalCount - pool.idleCount).toBe(0)
  })
})
