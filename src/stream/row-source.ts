import type { Readable } from 'node:stream'

/** Marks a source whose iterator yields arrays of rows (see {@link rowBatches}). */
export const ROW_BATCHES: unique symbol = Symbol('hotpath.rowBatches')

/** Rows delivered a batch at a time: one async step per batch instead of one per row. */
export interface RowBatchSource<Row> extends AsyncIterable<readonly Row[]> {
  readonly [ROW_BATCHES]: true
}

/**
 * Where rows come from: an async iterable (a Kysely `.stream()`, an async generator, an object-mode
 * `Readable`), a plain iterable (an array, a generator), or batches of rows ({@link rowBatches}).
 */
export type RowSource<Row> = AsyncIterable<Row> | Iterable<Row> | Readable | RowBatchSource<Row>

/**
 * Declare that `batches` yields arrays of rows, so encoders take a whole batch per step (a
 * database cursor's `read(n)` already returns arrays: unpacking them into one promise per row
 * costs more than encoding the row).
 *
 * @example
 * toCsv(rowBatches(readPages()), ['id', 'name'])
 */
export function rowBatches<Row>(batches: AsyncIterable<readonly Row[]>): RowBatchSource<Row> {
  return { [ROW_BATCHES]: true, [Symbol.asyncIterator]: () => batches[Symbol.asyncIterator]() }
}

/** Whether a source yields batches of rows. */
export function isRowBatchSource<Row>(source: RowSource<Row>): source is RowBatchSource<Row> {
  return (source as Partial<RowBatchSource<Row>>)[ROW_BATCHES] === true
}

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
