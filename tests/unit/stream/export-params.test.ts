import { describe, expect, it } from 'vitest'

import { ExportParameterError } from '../../../src/errors.js'
import { parseColumns, parseIsoDate, parseRowCount } from '../../../src/stream/index.js'

const ALLOWED = ['id', 'name', 'price'] as const

function codeOf(run: () => unknown): string | undefined {
  try {
    run()
  } catch (error) {
    expect(error).toBeInstanceOf(ExportParameterError)
    expect((error as ExportParameterError).statusCode).toBe(400)
    return (error as ExportParameterError).code
  }
  return undefined
}

describe('parseColumns', () => {
  it('keeps allowed columns in the requested order without duplicates', () => {
    expect(parseColumns('price, id,price', ALLOWED)).toEqual(['price', 'id'])
    expect(parseColumns(undefined, ALLOWED)).toEqual(['id', 'name', 'price'])
    expect(parseColumns('', ALLOWED, ['id'])).toEqual(['id'])
  })

  it('rejects unknown columns and repeated parameters', () => {
    expect(codeOf(() => parseColumns('id,password', ALLOWED))).toBe('E_EXPORT_UNKNOWN_COLUMN')
    expect(codeOf(() => parseColumns(['id', 'name'], ALLOWED))).toBe('E_EXPORT_INVALID_PARAMETER')
  })
})

describe('parseIsoDate', () => {
  it('accepts dates and date-times with zones', () => {
    expect(parseIsoDate('2024-05-01', 'since')?.toISOString()).toBe('2024-05-01T00:00:00.000Z')
    expect(parseIsoDate('2024-05-01T12:00:00+02:00', 'since')?.toISOString()).toBe('2024-05-01T10:00:00.000Z')
    expect(parseIsoDate('2024-05-01T10:30', 'since')?.toISOString()).toBe('2024-05-01T10:30:00.000Z')
    expect(parseIsoDate('2024-05-01 10:30:15.5z', 'since')?.toISOString()).toBe('2024-05-01T10:30:15.500Z')
    expect(parseIsoDate(undefined, 'since')).toBeUndefined()
  })

  it('rejects garbage and calendar-invalid dates', () => {
    for (const bad of [
      'yesterday',
      '2024-13-01',
      '2024-02-30',
      '2024-05-01T25:00:00Z',
      '1714557600',
      '2024-5-1',
    ]) {
      expect(codeOf(() => parseIsoDate(bad, 'since'))).toBe('E_EXPORT_INVALID_DATE')
    }
  })
})

describe('parseRowCount', () => {
  it('parses integers within the cap', () => {
    expect(parseRowCount('0', 10, 5)).toBe(0)
    expect(parseRowCount('10', 10, 5)).toBe(10)
    expect(parseRowCount(undefined, 10, 5)).toBe(5)
  })

  it('rejects negatives, fractions, huge and non-numeric values', () => {
    for (const bad of ['-1', '1.5', '1e3', '11', '1000000000000', 'abc', ' 5']) {
      expect(codeOf(() => parseRowCount(bad, 10, 5))).toBe('E_EXPORT_INVALID_ROWS')
    }
  })
})
