import { InvalidOptionError } from '../errors.js'
import { csvCellEncoder } from './csv-cell.js'
import { BOM, DEFAULT_DELIMITER, DEFAULT_NEWLINE } from './defaults.js'
import { RowEncoderStream, type RowEncoderOptions } from './row-encoder-stream.js'
import type { RowSource } from './row-source.js'

/**
 * One CSV column: a property name of the row, or an object naming the property, the header text
 * and optionally a function computing the value.
 */
export type CsvColumn<Row> =
  | (keyof Row & string)
  | { key: keyof Row & string; header?: string; value?: (row: Row) => unknown }
  | { key: string; header?: string; value: (row: Row) => unknown }

export interface CsvOptions extends RowEncoderOptions {
  /**
   * Field separator, one character other than `"`, CR or LF.
   * @default ','
   */
  delimiter?: string
  /**
   * Line break after every record. RFC 4180 says CRLF; `'\n'` suits Unix tools.
   * @default '\r\n'
   */
  newline?: '\r\n' | '\n'
  /**
   * Write a header line with the column headers.
   * @default true
   */
  header?: boolean
  /**
   * Start with a UTF-8 byte order mark, so that Excel reads non-ASCII text correctly.
   * @default false
   */
  bom?: boolean
  /**
   * Prefix text cells starting with `=`, `+`, `-`, `@`, tab or CR with `'`, so that a spreadsheet
   * shows them instead of running them as formulas (OWASP CSV injection). Numbers are never
   * touched. Turn off only for machine consumers that must read the exact text.
   * @default true
   */
  neutralizeFormulas?: boolean
}

export interface ResolvedCsvOptions {
  readonly delimiter: string
  readonly newline: '\r\n' | '\n'
  readonly header: boolean
  readonly bom: boolean
  readonly neutralizeFormulas: boolean
}

/** Validate and freeze {@link CsvOptions}. */
export function resolveCsvOptions(options: CsvOptions = {}): ResolvedCsvOptions {
  const delimiter = options.delimiter ?? DEFAULT_DELIMITER
  if (typeof delimiter !== 'string' || delimiter.length !== 1 || /["\r\n]/.test(delimiter)) {
    throw new InvalidOptionError('delimiter', delimiter, 'one character other than ", CR or LF')
  }
  const newline = options.newline ?? DEFAULT_NEWLINE
  if (newline !== '\r\n' && newline !== '\n') {
    throw new InvalidOptionError('newline', newline, "'\\r\\n' or '\\n'")
  }
  return Object.freeze({
    delimiter,
    newline,
    header: options.header ?? true,
    bom: options.bom ?? false,
    neutralizeFormulas: options.neutralizeFormulas ?? true,
  })
}

/**
 * Turn rows into a CSV byte stream (RFC 4180) that reads its source only as fast as the consumer
 * reads the stream, and releases the source when destroyed.
 *
 * @example
 * const rows = db.selectFrom('items').select(['id', 'name', 'price']).stream(1000)
 * await pipeline(toCsv(rows, ['id', 'name', { key: 'price', header: 'Price (EUR)' }]), createWriteStream('items.csv'))
 *
 * @param rows the rows: an async iterable such as a Kysely `.stream()`, an iterable or an object-mode Readable
 * @param columns the columns, in order
 */
export function toCsv<Row extends object>(
  rows: RowSource<Row>,
  columns: readonly CsvColumn<Row>[],
  options: CsvOptions = {},
): RowEncoderStream<Row> {
  const resolved = resolveCsvOptions(options)
  if (columns.length === 0) throw new InvalidOptionError('columns', columns, 'at least one column')
  const cell = csvCellEncoder(resolved)
  const { delimiter, newline } = resolved

  const getters = columns.map((column): ((row: Row) => unknown) => {
    if (typeof column === 'string') return (row) => (row as Record<string, unknown>)[column]
    if (column.value) return column.value
    const key = column.key
    return (row) => (row as Record<string, unknown>)[key]
  })
  const headers = columns.map((column) =>
    typeof column === 'string' ? column : (column.header ?? column.key),
  )

  const width = getters.length
  const encode = (row: Row): string => {
    let line = cell(getters[0]!(row))
    for (let i = 1; i < width; i++) line += delimiter + cell(getters[i]!(row))
    return line + newline
  }

  let prefix = resolved.bom ? BOM : ''
  if (resolved.header) prefix += headers.map(cell).join(delimiter) + newline
  return new RowEncoderStream(rows, encode, { chunkSize: options.chunkSize, signal: options.signal, prefix })
}
