import { describe, expect, it } from 'vitest'

import { sqlOperation, sqlShape } from '../../../src/profiling/sql-shape.js'

describe('sqlShape', () => {
  it('redacts inline string and number literals', () => {
    expect(sqlShape("select * from users where email = 'bob@example.com' and age > 42")).toBe(
      'select * from users where email = ? and age > ?',
    )
  })

  it('redacts escaped quotes inside a string literal entirely', () => {
    expect(sqlShape("select 1 from t where name = 'O''Brien secret'")).toBe('select ? from t where name = ?')
  })

  it('keeps quoted identifiers, including digits inside them', () => {
    expect(sqlShape('select "col1", `t2`.x from "table 3" where "id" = $1')).toBe(
      'select "col1", `t2`.x from "table 3" where "id" = ?',
    )
  })

  it('keeps identifiers that contain digits', () => {
    expect(sqlShape('select v2_items.id from v2_items where id = 7')).toBe(
      'select v2_items.id from v2_items where id = ?',
    )
  })

  it('normalises placeholders of both dialects and collapses IN lists', () => {
    const sqlite = sqlShape('select * from "posts" where "user_id" in (?, ?, ?)')
    const postgres = sqlShape('select * from "posts" where "user_id" in ($1, $2, $3, $4, $5)')
    expect(sqlite).toBe('select * from "posts" where "user_id" in (?)')
    expect(postgres).toBe(sqlite)
  })

  it('collapses multi-row VALUES and whitespace', () => {
    expect(sqlShape("insert into t (a, b)\n  values (1, 'x'), (2, 'y')")).toBe(
      'insert into t (a, b) values (?)',
    )
  })

  it('gives the same shape to queries that differ only in values', () => {
    expect(sqlShape('select * from items where id = 1')).toBe(sqlShape('select * from items where id = 2'))
    expect(sqlShape('select * from items where id = 1')).not.toBe(
      sqlShape('select * from users where id = 1'),
    )
  })
})

describe('sqlOperation', () => {
  it('returns the statement keyword, or other', () => {
    expect(sqlOperation('  SELECT 1')).toBe('select')
    expect(sqlOperation('insert into t values (1)')).toBe('insert')
    expect(sqlOperation('with x as (select 1) select * from x')).toBe('select')
    expect(sqlOperation('pragma journal_mode')).toBe('other')
  })
})
