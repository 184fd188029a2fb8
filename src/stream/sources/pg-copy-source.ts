import { Readable } from 'node:stream'

import { InvalidOptionError } from '../../errors.js'
import { DEFAULT_CHUNK_SIZE, DEFAULT_DELIMITER } from '../defaults.js'

/** The part of a pg `PoolClient` the COPY path uses (typed by shape, so `pg` stays optional). */
export interface PgCopyClient {
  query(stream: Readable): Readable
  release(destroy?: boolean | Error): void
  on(event: 'error', listener: (error: Error) => void): unknown
  off(event: 'error', listener: (error: Error) => void): unknown
  processID?: number | null
}

/** The part of a pg `Pool` the COPY path uses. */
export interface PgCopyPool {
  connect(): Promise<PgCopyClient>
  query(sql: string, parameters: unknown[]): Promise<unknown>
}

/** A SELECT with `$n` placeholders, such as Kysely's `query.compile()`. */
export interface CopyQuery {
  sql: string
  parameters?: readonly unknown[]
}

export interface PgCopyOptions {
  /**
   * Start with a header line of column names.
   * @default true
   */
  header?: boolean
  /**
   * Field separator.
   * @default ','
   */
  delimiter?: string
  /**
   * Time allowed for the `pg_cancel_backend` call when the consumer leaves.
   * @default 5000
   */
  cancelTimeoutMs?: number
  /**
   * Aborting destroys the stream (the query is cancelled and its connection discarded).
   * @default undefined
   */
  signal?: AbortSignal
}

const DEFAULT_CANCEL_TIMEOUT_MS = 5_000

type CopyTo = (sql: string) => Readable

/**
 * A CSV byte stream produced by PostgreSQL itself: `COPY (SELECT …) TO STDOUT (FORMAT csv)` on a
 * pooled client, through pg-copy-streams. This is the fast path for exports that need no per-row
 * work in JavaScript.
 *
 * What differs from {@link toCsv}: lines end with LF, timestamps use PostgreSQL's text output
 * (format them in SQL for ISO 8601), and **formula cells are not neutralised** — wrap text columns
 * with {@link pgNeutralizeFormula} in the SELECT when the file may be opened in a spreadsheet.
 * COPY accepts no bind parameters, so `$n` placeholders are inlined as escaped literals (do not
 * put a literal `$n` inside quoted SQL text).
 *
 * When the stream is destroyed before the end (the client left), the backend is cancelled with
 * `pg_cancel_backend(pid)` and the client is discarded rather than returned to the pool, so a late
 * cancel can never hit the next query on that connection.
 *
 * @example
 * const query = db.selectFrom('items').select(['id', 'name']).where('category', '=', category).compile()
 * await pipeExport(pgCopyCsv(pool, query), response)
 */
export function pgCopyCsv(pool: PgCopyPool, query: CopyQuery, options: PgCopyOptions = {}): PgCopyStream {
  return new PgCopyStream(pool, query, options)
}

/** The stream {@link pgCopyCsv} returns. */
export class PgCopyStream extends Readable {
  readonly #pool: PgCopyPool
  readonly #sql: string
  readonly #cancelTimeoutMs: number
  #starting = false
  #client: PgCopyClient | undefined
  #copy: Readable | undefined
  #settled = false
  #bytes = 0

  constructor(pool: PgCopyPool, query: CopyQuery, options: PgCopyOptions = {}) {
    super({ highWaterMark: DEFAULT_CHUNK_SIZE, signal: options.signal })
    const delimiter = options.delimiter ?? DEFAULT_DELIMITER
    if (delimiter.length !== 1 || /["\r\n]/.test(delimiter)) {
      throw new InvalidOptionError('delimiter', delimiter, 'one character other than ", CR or LF')
    }
    const select = inlineParameters(query.sql.trim().replace(/;+$/, ''), query.parameters ?? [])
    const header = options.header ?? true
    this.#sql = `COPY (${select}) TO STDOUT (FORMAT csv, HEADER ${header ? 'true' : 'false'}, DELIMITER ${escapeLiteral(delimiter)})`
    this.#pool = pool
    this.#cancelTimeoutMs = options.cancelTimeoutMs ?? DEFAULT_CANCEL_TIMEOUT_MS
  }

  /** The COPY statement sent to PostgreSQL. */
  get statement(): string {
    return this.#sql
  }

  /** Bytes received from PostgreSQL so far. */
  get byteCount(): number {
    return this.#bytes
  }

  override _read(): void {
    if (this.#copy) {
      this.#copy.resume()
      return
    }
    if (this.#starting) return
    this.#starting = true
    void this.#start()
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    const client = this.#client
    if (client === undefined || this.#settled) {
      callback(error)
      return
    }
    this.#settled = true
    const copy = this.#copy
    if (copy) {
      copy.removeAllListeners('data')
      copy.removeAllListeners('end')
      copy.on('error', () => {})
      copy.resume()
    }
    void this.#cancel(client).finally(() => {
      client.release(true)
      callback(error)
    })
  }

  async #start(): Promise<void> {
    try {
      const copyTo = await loadCopyTo()
      const client = await this.#pool.connect()
      if (this.destroyed) {
        client.release()
        return
      }
      this.#client = client
      // A checked-out pg client whose connection dies emits 'error'; unheard, that event would
      // crash the process. While the COPY holds the client, the error ends this stream instead.
      const onClientError = (error: Error) => this.destroy(error)
      client.on('error', onClientError)
      this.once('close', () => client.off('error', onClientError))
      const copy = client.query(copyTo(this.#sql))
      this.#copy = copy
      copy.on('data', (chunk: Buffer) => {
        this.#bytes += chunk.length
        if (!this.push(chunk)) copy.pause()
      })
      copy.once('end', () => {
        this.#settled = true
        client.release()
        this.push(null)
      })
      copy.once('error', (error: Error) => this.destroy(error))
    } catch (error) {
      this.destroy(error as Error)
    }
  }

  async #cancel(client: PgCopyClient): Promise<void> {
    const pid = client.processID
    if (typeof pid !== 'number') return
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, this.#cancelTimeoutMs)
      timer.unref()
    })
    try {
      await Promise.race([
        this.#pool.query('SELECT pg_cancel_backend($1)', [pid]).catch(() => undefined),
        timeout,
      ])
    } finally {
      clearTimeout(timer)
    }
  }
}

/**
 * A SQL expression that neutralises a text column for spreadsheets, the way {@link toCsv} does:
 * values starting with `=`, `+`, `-`, `@`, tab or CR get a leading `'`. Pass a quoted identifier.
 *
 * @example
 * sql`${sql.raw(pgNeutralizeFormula('"name"'))}`.as('name')
 */
export function pgNeutralizeFormula(quotedColumn: string): string {
  return `CASE WHEN left(${quotedColumn}, 1) IN ('=', '+', '-', '@', chr(9), chr(13)) THEN '''' || ${quotedColumn} ELSE ${quotedColumn} END`
}

/** Replace `$n` placeholders with escaped literals (COPY takes no bind parameters). */
export function inlineParameters(sql: string, parameters: readonly unknown[]): string {
  return sql.replace(/\$(\d+)/g, (placeholder, index: string) => {
    const position = Number(index) - 1
    if (position < 0 || position >= parameters.length) {
      throw new InvalidOptionError('parameters', parameters, `a value for placeholder ${placeholder}`)
    }
    return literal(parameters[position])
  })
}

function literal(value: unknown): string {
  if (value === null || value === undefined) return 'NULL'
  switch (typeof value) {
    case 'number':
      if (!Number.isFinite(value)) throw new InvalidOptionError('parameters', value, 'a finite number')
      return String(value)
    case 'bigint':
      return String(value)
    case 'boolean':
      return value ? 'TRUE' : 'FALSE'
    case 'string':
      return escapeLiteral(value)
    default:
      if (value instanceof Date) return escapeLiteral(value.toISOString())
      if (Array.isArray(value)) return value.length === 0 ? `'{}'` : `ARRAY[${value.map(literal).join(', ')}]`
      return escapeLiteral(JSON.stringify(value))
  }
}

/** PostgreSQL string literal, as `pg`'s `escapeLiteral` builds it. */
function escapeLiteral(value: string): string {
  if (value.includes('\u0000'))
    throw new InvalidOptionError('parameters', value, 'text without NUL characters')
  let escaped = value.replaceAll("'", "''")
  if (escaped.includes('\\')) {
    escaped = escaped.replaceAll('\\', '\\\\')
    return ` E'${escaped}'`
  }
  return `'${escaped}'`
}

let copyToPromise: Promise<CopyTo> | undefined

function loadCopyTo(): Promise<CopyTo> {
  copyToPromise ??= import('pg-copy-streams').then((module) => {
    const loaded = module as unknown as { to?: CopyTo; default?: { to: CopyTo } }
    const to = loaded.to ?? loaded.default?.to
    if (!to) throw new Error('pg-copy-streams did not export "to"; install pg-copy-streams 6 or newer')
    return to
  })
  return copyToPromise
}
