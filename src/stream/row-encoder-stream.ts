import { Readable } from 'node:stream'

import { DEFAULT_CHUNK_SIZE } from './defaults.js'

/** Room past `chunkSize` so that most rows fit without starting a new chunk. */
const CHUNK_SLACK = 16 * 1024
import { isRowBatchSource, rowIterator, type RowIterator, type RowSource } from './row-source.js'

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
  readonly #iterator: RowIterator<Row | readonly Row[]>
  /** The source yields arrays of rows. */
  readonly #batched: boolean
  readonly #encode: (row: Row) => string
  readonly #chunkSize: number
  #prefix: string
  #chunk: Buffer
  #used = 0
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
    this.#batched = isRowBatchSource(source)
    this.#iterator = rowIterator<Row | readonly Row[]>(source as RowSource<Row | readonly Row[]>)
    this.#encode = encode
    this.#chunkSize = chunkSize
    this.#prefix = init.prefix ?? ''
    this.#chunk = Buffer.allocUnsafe(chunkSize + CHUNK_SLACK)
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
    if (this.#prefix.length > 0) {
      this.#append(this.#prefix)
      this.#prefix = ''
    }
    try {
      for (;;) {
        const next = this.#iterator.next()
        const result = isPromise(next) ? await next : next
        if (this.destroyed) return
        if (result.done === true) {
          this.#exhausted = true
          this.#flush()
          this.push(null)
          return
        }
        if (this.#batched) {
          const batch = result.value as readonly Row[]
          const encode = this.#encode
          for (let i = 0; i < batch.length; i++) this.#append(encode(batch[i]!))
          this.#rows += batch.length
        } else {
          this.#append(this.#encode(result.value as Row))
          this.#rows++
        }
        if (this.#used >= this.#chunkSize && !this.#flush()) return
      }
    } catch (error) {
      this.destroy(error as Error)
    } finally {
      this.#pumping = false
    }
  }

  /**
   * Lines are UTF-8-encoded straight into the pending chunk: concatenating them into one string
   * first builds a rope per chunk that costs more in garbage collection than the encoding itself.
   */
  #append(text: string): void {
    // A UTF-16 code unit never takes more than 3 UTF-8 bytes.
    if (this.#used + text.length * 3 > this.#chunk.length) {
      this.#flush()
      if (text.length * 3 > this.#chunk.length) this.#chunk = Buffer.allocUnsafe(text.length * 3)
    }
    this.#used += this.#chunk.write(text, this.#used)
  }

  /** Push the pending chunk (if any) and start a new one; false when the consumer is full. */
  #flush(): boolean {
    if (this.#used === 0) return true
    const chunk = this.#chunk.subarray(0, this.#used)
    this.#chunk = Buffer.allocUnsafe(this.#chunkSize + CHUNK_SLACK)
    this.#used = 0
    this.#bytes += chunk.length
    return this.push(chunk)
  }
}

function isPromise<T>(value: T | Promise<T>): value is Promise<T> {
  return typeof (value as { then?: unknown }).then === 'function'
}
