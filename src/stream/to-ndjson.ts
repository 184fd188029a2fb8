import { InvalidOptionError } from '../errors.js'
import { RowEncoderStream, type RowEncoderOptions } from './row-encoder-stream.js'
import type { RowSource } from './row-source.js'

export interface NdjsonOptions<Row> extends RowEncoderOptions {
  /**
   * Keep only these properties, in this order. All properties when omitted.
   * @default undefined
   */
  columns?: readonly (keyof Row & string)[]
}

/**
 * Turn rows into an NDJSON byte stream (one JSON document per line, `\n`-terminated): dates as ISO
 * 8601 (their `toJSON`), bigints as strings. Reads the source only as fast as the consumer reads.
 *
 * @example
 * reply.type('application/x-ndjson').send(toNdjson(db.selectFrom('items').selectAll().stream(1000)))
 */
export function toNdjson<Row extends object>(
  rows: RowSource<Row>,
  options: NdjsonOptions<Row> = {},
): RowEncoderStream<Row> {
  const columns = options.columns
  if (columns !== undefined && columns.length === 0) {
    throw new InvalidOptionError('columns', columns, 'at least one column, or undefined for all')
  }
  const project = columns
    ? (row: Row): unknown => {
        const picked: Record<string, unknown> = {}
        for (const key of columns) picked[key] = (row as Record<string, unknown>)[key]
        return picked
      }
    : (row: Row): unknown => row
  const encode = (row: Row): string => `${stringify(project(row))}\n`
  return new RowEncoderStream(rows, encode, { chunkSize: options.chunkSize, signal: options.signal })
}

function stringify(value: unknown): string {
  try {
    return JSON.stringify(value)
  } catch (error) {
    // JSON.stringify throws on bigint; PostgreSQL int8 columns can arrive as bigint with a custom parser.
    if (error instanceof TypeError) return JSON.stringify(value, bigintAsString)
    throw error
  }
}

function bigintAsString(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value
}
