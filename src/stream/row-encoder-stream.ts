import { Readable } from 'node:stream'

import { DEFAULT_CHUNK_SIZE } from './defaults.js'
import { rowIterator, type RowIterator, type RowSource } from './row-source.js'

/** Options shared by every encoder ({@link toCsv}, {@link toNdjson}). */
export interface RowEncoderOptions {
  /**
   * Encoded text gathered before one chunk is pushed: rows are batched, never written one by one.
   * @default 65536
   */
  chunkSize?: number
  /**
   * Aborting destroys the stream, which releases the source (its iterator's `return()` is called).
   * @default undefined
   */
  signal?: AbortSignal
}

export interface RowEncoderInit extends RowEncoderOptions {
  /** Text emitted before the first row (BOM, header line). */
  prefix?: string
}

/**
 * A byte stream that pulls rows from a source only when the consumer asks for more (backpressure),
 * encodes them and pushes them in batches. Destroying it (client gone, error, abort signal) calls
 * the source iterator's `return()`, which is what closes a database cursor and gives its connection
 * back; the `'close'` event fires only after that has finished.
 */
export class RowEncoderStream<Row> extends Readable {
  readonly #iterator: RowIterator<Row>
  readonly #encode: (row: Row) => string
  readonly #chunkSize: number
  #prefix: string
  #pumping = false
  #exhausted = false
  #rows = 0
  #bytes = 0

  constructor(source: RowSource<Row>, encode: (row: Row) => string, init: RowEncoderInit = {}) {
    const chunkSize = init.chunkSize ?? DEFAULT_CHUNK_SIZE
    if (!Number.isInteger(chunkSize) || chunkSize <= 0) {
      throw new TypeError(`Invalid option "chunkSize": got ${chunkSize}, expected a positive integer.`)
    }
    super({ highWaterMark: chunkSize, signal: init.signal })
    this.#iterator = rowIterator(source)
    this.#encode = encode
    this.#chunkSize = chunkSize
    this.#prefix = init.prefix ?? ''
  }

  /** Rows encoded so far. */
  get rowCount(): number {
    return this.#rows
  }

  /** Bytes pushed so far (before any compression). */
  get byteCount(): number {
    return this.#bytes
  }

  override _read(): void {
    if (!this.#pumping) void this.#pump()
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (this.#exhausted) {
      callback(error)
      return
    }
    this.#exhausted = true
    let closing: unknown
    try {
      closing = this.#iterator.return?.()
    } catch (closeError) {
      callback(error ?? (closeError as Error))
      return
    }
    Promise.resolve(closing).then(
      () => callback(error),
      (closeError: unknown) => callback(error ?? (closeError as Error)),
    )
  }

  async #pump(): Promise<void> {
    this.#pumping = true
    let text = this.#prefix
    this.#prefix = ''
    try {
      for (;;) {
        const next = this.#iterator.next()
        const result = isPromise(next) ? await next : next
        if (this.destroyed) return
        if (result.done === true) {
          this.#exhausted = true
          if (text.length > 0) this.#emit(text)
          this.push(null)
          return
        }
        text += this.#encode(result.value)
        this.#rows++
        if (text.length >= this.#chunkSize) {
          const wantsMore = this.#emit(text)
          text = ''
          if (!wantsMore) return
        }
      }
    } catch (error) {
      this.destroy(error as Error)
    } finally {
      this.#pumping = false
    }
  }

  #emit(text: string): boolean {
    const chunk = Buffer.from(text, 'utf8')
    this.#bytes += chunk.length
    return this.push(chunk)
  }
}

function isPromise<T>(value: T | Promise<T>): value is Promise<T> {
  return typeof (value as { then?: unknown }).then === 'function'
}
