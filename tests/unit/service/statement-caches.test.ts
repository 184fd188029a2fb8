import BetterSqlite3 from 'better-sqlite3'
import type pg from 'pg'
import { describe, expect, it } from 'vitest'
import { PgPreparedStatementPool } from '../../../service/src/db/pg-prepared-statements.js'
import { SqliteStatementCache } from '../../../service/src/db/sqlite-statement-cache.js'

describe('SqliteStatementCache', () => {
  it('prepares each SQL string once and evicts the oldest beyond its size', () => {
    const sqlite = new BetterSqlite3(':memory:')
    const cache = new SqliteStatementCache(sqlite, 2)
    const one = cache.prepare('select 1')
    expect(cache.prepare('select 1')).toBe(one)
    cache.prepare('select 2')
    cache.prepare('select 3')
    expect(cache.prepare('select 1')).not.toBe(one)
    expect(cache.prepare('select 1').all([])).toEqual([{ 1: 1 }])
    cache.close()
    expect(sqlite.open).toBe(false)
  })
})

/** A pg pool that records what reaches the client, to check which queries get a statement name. */
function recordingPool() {
  const sent: unknown[] = []
  const client = {
    query: (config: unknown) => {
      sent.push(config)
      return Promise.resolve({ command: 'SELECT', rowCount: 0, rows: [] })
    },
    release: () => {},
  }
  const pool = { connect: () => Promise.resolve(client), end: () => Promise.resolve() }
  return { pool: pool as unknown as pg.Pool, sent }
}

describe('PgPreparedStatementPool', () => {
  it('names DML statements, one name per SQL string, and leaves DDL and BEGIN unnamed', async () => {
    const { pool, sent } = recordingPool()
    const prepared = new PgPreparedStatementPool(pool)
    const client = await prepared.connect()
    await client.query('select * from items where id = $1', [1])
    await client.query('select * from items where id = $1', [2])
    await client.query('update items set price = $1', [3])
    await client.query('create table t (id int)', [])
    await client.query('begin', [])
    expect(sent).toEqual([
      { name: 'hotpath_1', text: 'select * from items where id = $1', values: [1] },
      { name: 'hotpath_1', text: 'select * from items where id = $1', values: [2] },
      { name: 'hotpath_2', text: 'update items set price = $1', values: [3] },
      { text: 'create table t (id int)', values: [] },
      { text: 'begin', values: [] },
    ])
  })

  it('stops naming new SQL beyond its limit, and passes cursors through', async () => {
    const { pool, sent } = recordingPool()
    const prepared = new PgPreparedStatementPool(pool, 1)
    const client = await prepared.connect()
    await client.query('select 1', [])
    await client.query('select 2', [])
    const cursor = { read: () => Promise.resolve([]), close: () => Promise.resolve() }
    client.query(cursor)
    expect(sent).toEqual([
      { name: 'hotpath_1', text: 'select 1', values: [] },
      { text: 'select 2', values: [] },
      cursor,
    ])
  })
})
