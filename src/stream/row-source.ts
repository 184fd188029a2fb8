import type { Readable } from 'node:stream'

/**
 * Where rows come from: an async iterable (a Kysely `.stream()`, an async generator, an object-mode
 * `Readable`) or a plain iterable (an array, a generator).
 */
export type RowSource<Row> = AsyncIterable<Row> | Iterable<Row> | Readable

/** The iterator behind a {@link RowSource}; `return()` is what releases a cursor. */
export type RowIterator<Row> = AsyncIterator<Row> | Iterator<Row>

export function rowIterator<Row>(source: RowSource<Row>): RowIterator<Row> {
  const candidate = source as Partial<AsyncIterable<Row> & Iterable<Row>>
  if (typeof candidate[Symbol.asyncIterator] === 'function') {
    return (candidate as AsyncIterable<Row>)[Symbol.asyncIterator]()
  }
  if (typeof candidate[Symbol.iterator] === 'function') {
    return (candidate as Iterable<Row>)[Symbol.iterator]()
  }
  throw new TypeError('rows must be an async iterable, an iterable or an object-mode Readable')
}
