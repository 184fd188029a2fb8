import { parse } from 'csv-parse/sync'
import { text } from 'node:stream/consumers'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { pgCopyCsv, pgNeutralizeFormula } from '../../../src/stream/index.js'
import { hasPostgres, POSTGRES_URL } from '../../helpers/services.js'
import { eventually } from './export-backends.js'

describe.runIf(hasPostgres)('pgCopyCsv', () => {
  const applicationName = `hotpath_stream_copy_${Math.random().toString(36).slice(2, 10)}`
  let pool: pg.Pool
  let observer: pg.Client

  beforeAll(async () => {
    const url = new URL(POSTGRES_URL)
    url.searchParams.set('application_name', applicationName)
    pool = new pg.Pool({ connectionString: url.toString(), max: 4 })
    pool.on('error', () => {})
    observer = new pg.Client({ connectionString: POSTGRES_URL })
    await observer.connect()
  })

  afterAll(async () => {
    await pool?.end()
    await observer?.end()
  })

  const busyBackends = async (): Promise<string | undefined> => {
    const { rows } = await observer.query<{ query: string }>(
      `select query from pg_stat_activity where application_name = $1 and state <> 'idle'`,
      [applicationName],
    )
    return rows.length > 0 ? `still running: ${rows.map((row) => row.query).join('; ')}` : undefined
  }

  it('inlines parameters as safe literals, since COPY takes no bind parameters', async () => {
    const tricky = `it's a \\ "test", with\nnewline`
    const csv = await text(
      pgCopyCsv(pool, {
        sql: 'select $1::text as a, $2::int as b, $3::timestamptz as c, $4::text as d, $5::boolean as e, $1::text = $1::text as f',
        parameters: [tricky, 42, new Date('2024-01-02T03:04:05.000Z'), null, true],
      }),
    )
    const [header, row] = parse(csv) as string[][]
    expect(header).toEqual(['a', 'b', 'c', 'd', 'e', 'f'])
    expect(row?.[0]).toBe(tricky)
    expect(row?.[1]).toBe('42')
    expect(new Date(row![2]!).toISOString()).toBe('2024-01-02T03:04:05.000Z')
    expect(row?.slice(3)).toEqual(['', 't', 't'])
  })

  it('neutralises formula cells in SQL with pgNeutralizeFormula', async () => {
    const values = ['=1+1', '+x', '-y', '@z', '\tt', '\rr', 'safe', '']
    const csv = await text(
      pgCopyCsv(pool, {
        sql: `select ${pgNeutralizeFormula('v')} as v from unnest($1::text[]) with ordinality as t(v, n) order by n`,
        parameters: [values],
      }),
    )
    expect((parse(csv, { from_line: 2 }) as string[][]).map((row) => row[0])).toEqual([
      "'=1+1",
      "'+x",
      "'-y",
      "'@z",
      "'\tt",
      "'\rr",
      'safe',
      '',
    ])
  })

  it('cancels a query that is still computing when the consumer leaves (pg_cancel_backend)', async () => {
    const stream = pgCopyCsv(pool, { sql: 'select pg_sleep(60), 1 as one' })
    stream.resume()
    await eventually(async () =>
      (await busyBackends()) === undefined ? 'the COPY has not started yet' : undefined,
    )
    stream.destroy()
    await new Promise((resolve) => stream.once('close', resolve))
    await eventually(busyBackends)
    expect(pool.totalCount).toBe(pool.idleCount)
  })

  it('reports a SQL error as a stream error and gives the connection back', async () => {
    await expect(text(pgCopyCsv(pool, { sql: 'select 1 / 0' }))).rejects.toThrow(/division by zero/)
    await eventually(async () =>
      pool.totalCount === pool.idleCount ? undefined : `pool busy: ${pool.totalCount - pool.idleCount}`,
    )
  })
})
