import { describe, expect, it } from 'vitest'

import { pgCopyCsv, pgNeutralizeFormula } from '../../../src/stream/index.js'
import { inlineParameters } from '../../../src/stream/sources/pg-copy-source.js'

const noPool = {
  connect: () => Promise.reject(new Error('not used')),
  query: () => Promise.reject(new Error('not used')),
}

describe('COPY statement building', () => {
  it('inlines every placeholder as a literal, escaping quotes and backslashes', () => {
    expect(
      inlineParameters('select * from t where a = $1 and b = $2 and c = $10 and d in ($3, $4, $5)', [
        "it's",
        'back\\slash',
        null,
        true,
        12.5,
        0,
        0,
        0,
        0,
        new Date('2024-01-01T00:00:00.000Z'),
      ]),
    ).toBe(
      "select * from t where a = 'it''s' and b =  E'back\\\\slash' and c = '2024-01-01T00:00:00.000Z' and d in (NULL, TRUE, 12.5)",
    )
    expect(inlineParameters('select $1::text[]', [['a', "b'c"]])).toBe("select ARRAY['a', 'b''c']::text[]")
  })

  it('refuses values that cannot become a safe literal', () => {
    expect(() => inlineParameters('select $1', [])).toThrow(/placeholder \$1/)
    expect(() => inlineParameters('select $1', ['nul\u0000byte'])).toThrow(/NUL/)
    expect(() => inlineParameters('select $1', [Number.NaN])).toThrow(/finite/)
  })

  it('wraps the SELECT in COPY … TO STDOUT with the CSV options', () => {
    const stream = pgCopyCsv(noPool, { sql: 'select 1 as one;' }, { header: false, delimiter: ';' })
    expect(stream.statement).toBe(
      "COPY (select 1 as one) TO STDOUT (FORMAT csv, HEADER false, DELIMITER ';')",
    )
    stream.destroy()
  })

  it('builds the SQL neutralisation expression for a quoted column', () => {
    expect(pgNeutralizeFormula('"name"')).toBe(
      `CASE WHEN left("name", 1) IN ('=', '+', '-', '@', chr(9), chr(13)) THEN '''' || "name" ELSE "name" END`,
    )
  })
})
