import { ExportParameterError } from '../errors.js'

const ISO_DATE =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|[+-]\d{2}(?::?\d{2})?)?)?$/i

/**
 * Parse a `columns` query parameter (`id,name,price`) against an allow-list. Missing or empty
 * gives `defaults`; duplicates are dropped; an unknown name is a 400 naming the allowed ones.
 *
 * @example
 * parseColumns('id,name', ['id', 'name', 'price'] as const) // ['id', 'name']
 * @throws ExportParameterError `E_EXPORT_UNKNOWN_COLUMN`
 */
export function parseColumns<const C extends string>(
  value: unknown,
  allowed: readonly C[],
  defaults: readonly C[] = allowed,
  parameter = 'columns',
): C[] {
  if (value === undefined || value === '') return [...defaults]
  if (typeof value !== 'string') {
    throw new ExportParameterError('E_EXPORT_INVALID_PARAMETER', parameter, value, 'one comma-separated list')
  }
  const picked: C[] = []
  for (const raw of value.split(',')) {
    const name = raw.trim()
    if (name === '') continue
    if (!(allowed as readonly string[]).includes(name)) {
      throw new ExportParameterError(
        'E_EXPORT_UNKNOWN_COLUMN',
        parameter,
        name,
        `a comma-separated list of ${allowed.join(', ')}`,
      )
    }
    if (!picked.includes(name as C)) picked.push(name as C)
  }
  return picked.length > 0 ? picked : [...defaults]
}

/**
 * Parse an ISO 8601 date or date-time query parameter (`2024-05-01`, `2024-05-01T10:00:00Z`,
 * `2024-05-01T12:00:00+02:00`) into a `Date`; a date alone means midnight UTC, a date-time
 * without an offset is UTC too. Calendar-invalid
 * dates such as `2024-02-30` are rejected rather than rolled over.
 *
 * @throws ExportParameterError `E_EXPORT_INVALID_DATE`
 */
export function parseIsoDate(value: unknown, parameter: string): Date | undefined {
  if (value === undefined || value === '') return undefined
  const expected = 'an ISO 8601 date such as 2024-05-01 or 2024-05-01T10:00:00Z'
  if (typeof value !== 'string')
    throw new ExportParameterError('E_EXPORT_INVALID_DATE', parameter, value, expected)
  const match = ISO_DATE.exec(value)
  // Without an offset, a date-time is read as UTC: the server's local zone must not change the answer.
  const iso = match?.[4] === undefined ? `${value}T00:00:00Z` : match[7] === undefined ? `${value}Z` : value
  const date = match ? new Date(iso) : undefined
  if (!match || !date || Number.isNaN(date.getTime())) {
    throw new ExportParameterError('E_EXPORT_INVALID_DATE', parameter, value, expected)
  }
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])]
  const calendar = new Date(Date.UTC(year, month - 1, day))
  if (calendar.getUTCMonth() !== month - 1 || calendar.getUTCDate() !== day) {
    throw new ExportParameterError('E_EXPORT_INVALID_DATE', parameter, value, expected)
  }
  return date
}

/**
 * Parse a row-count query parameter: a decimal integer from 0 to `max`, `fallback` when missing.
 *
 * @throws ExportParameterError `E_EXPORT_INVALID_ROWS`
 */
export function parseRowCount(value: unknown, max: number, fallback: number, parameter = 'rows'): number {
  if (value === undefined || value === '') return fallback
  const expected = `an integer from 0 to ${max}`
  if (typeof value !== 'string' || !/^\d{1,16}$/.test(value)) {
    throw new ExportParameterError('E_EXPORT_INVALID_ROWS', parameter, value, expected)
  }
  const rows = Number(value)
  if (!Number.isSafeInteger(rows) || rows > max) {
    throw new ExportParameterError('E_EXPORT_INVALID_ROWS', parameter, value, expected)
  }
  return rows
}
