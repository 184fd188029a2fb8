import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import type { Readable } from 'node:stream'
import Cursor from 'pg-cursor'

import { ExportBusyError, ExportParameterError, HotpathError } from '../../../src/errors.js'
import {
  compressExport,
  contentDisposition,
  exportEtag,
  ifNoneMatchMatches,
  isPrematureClose,
  kyselySource,
  negotiateEncoding,
  parseColumns,
  parseIsoDate,
  parseRowCount,
  pgCopyCsv,
  pgCursorSource,
  toCsv,
  toNdjson,
} from '../../../src/stream/index.js'
import type { ServiceDatabase } from '../db/create-database.js'
import { createExportDatabase, type ExportDatabase, type ExportHandle } from './export-database.js'
import { generatedRows } from './generated-rows.js'
import {
  ITEM_EXPORT_COLUMNS,
  itemsCopyQuery,
  itemsCursorQuery,
  itemsQuery,
  itemsVersion,
  type ItemExportRow,
  type ItemsExportFilter,
} from './items-export.js'

/** Rows fetched per cursor round trip. */
export const DEFAULT_EXPORT_BATCH_SIZE = 1_000
/** Rows `/export/generated.csv` produces without `?rows=`: the seed chapter's example. */
export const DEFAULT_GENERATED_ROWS = 1_000_000
/** Upper bound of `?rows=` on `/export/generated.csv`. */
export const MAX_GENERATED_ROWS = 5_000_000
/** Exports streaming at once; each holds a database connection (PostgreSQL) or a file handle. */
export const DEFAULT_MAX_CONCURRENT_EXPORTS = 4
/** Longest accepted `category` filter. */
const MAX_CATEGORY_LENGTH = 200

export interface ExportRoutesOptions {
  /** The service database (from `createDatabase`). Required. */
  database: ServiceDatabase
  /**
   * Rows per cursor round trip.
   * @default 1000
   */
  batchSize?: number
  /**
   * Largest `?rows=` of `/export/generated.csv`; never below 5,000,000.
   * @default 5000000
   */
  maxGeneratedRows?: number
  /**
   * Exports streaming at once; more get 503 with `Retry-After`.
   * @default 4
   */
  maxConcurrentExports?: number
  /**
   * Serve `items.csv` on PostgreSQL with `COPY … TO STDOUT` (formula neutralisation done in SQL)
   * unless the request asks `?via=cursor`. When false, `?via=copy` is refused.
   * @default true
   */
  copy?: boolean
  /** Called once per finished export (completed, aborted or failed), e.g. for metrics. */
  onExportEnd?: (summary: ExportSummary) => void
}

/** What one export did. */
export interface ExportSummary {
  route: string
  source: 'sqlite' | 'postgres-cursor' | 'postgres-copy' | 'generated'
  outcome: 'completed' | 'aborted' | 'failed'
  /** Rows encoded (undefined for COPY, where PostgreSQL encodes). */
  rows: number | undefined
  /** Uncompressed bytes produced. */
  bytes: number
  durationMs: number
}

interface ResolvedOptions {
  readonly batchSize: number
  readonly maxGeneratedRows: number
  readonly maxConcurrentExports: number
  readonly copy: boolean
  readonly onExportEnd: ((summary: ExportSummary) => void) | undefined
}

type Query = Record<string, unknown>

/** A started export: its byte stream and what to give back once the stream has closed. */
interface Produced {
  stream: Readable & { byteCount: number; rowCount?: number }
  release?: () => void
}

function resolveOptions(options: ExportRoutesOptions): ResolvedOptions {
  if (options.database === undefined) throw new TypeError('exportRoutes: option "database" is required')
  const positive = (name: string, value: number | undefined, fallback: number, min = 1): number => {
    const resolved = value ?? fallback
    if (!Number.isSafeInteger(resolved) || resolved < min) {
      throw new TypeError(`exportRoutes: option "${name}" must be an integer >= ${min}, got ${String(value)}`)
    }
    return resolved
  }
  return Object.freeze({
    batchSize: positive('batchSize', options.batchSize, DEFAULT_EXPORT_BATCH_SIZE),
    maxGeneratedRows: positive(
      'maxGeneratedRows',
      options.maxGeneratedRows,
      MAX_GENERATED_ROWS,
      MAX_GENERATED_ROWS,
    ),
    maxConcurrentExports: positive(
      'maxConcurrentExports',
      options.maxConcurrentExports,
      DEFAULT_MAX_CONCURRENT_EXPORTS,
    ),
    copy: options.copy ?? true,
    onExportEnd: options.onExportEnd,
  })
}

/**
 * The export routes of the reference service, as one self-contained plugin:
 *
 * - `GET|HEAD /export/items.csv` and `/export/items.ndjson` with `category`, `since` (ISO 8601) and
 *   `columns` (allow-listed) filters, and `via=cursor|copy` on PostgreSQL;
 * - `GET|HEAD /export/generated.csv?rows=N`, the seed chapter's generated rows (capped).
 *
 * Streams with backpressure, releases the cursor when the client leaves, compresses with brotli or
 * gzip when accepted, and answers `If-None-Match` with 304 from a weak ETag over the data version.
 * Bad input is a 400 `{ error: { code, message } }`.
 *
 * @example
 * await app.register(exportRoutes, { database })
 */
export const exportRoutes: FastifyPluginAsync<ExportRoutesOptions> = async (app, options) => {
  const resolved = resolveOptions(options)
  const exportDb = createExportDatabase(options.database)
  let running = 0

  const methods: ('GET' | 'HEAD')[] = ['GET', 'HEAD']

  const startExport = async (
    request: FastifyRequest,
    reply: FastifyReply,
    route: string,
    source: ExportSummary['source'],
    produce: () => Promise<Produced> | Produced,
  ): Promise<FastifyReply> => {
    if (running >= resolved.maxConcurrentExports) throw new ExportBusyError(resolved.maxConcurrentExports)
    const encoding = negotiateEncoding(request.headers['accept-encoding']) ?? 'identity'
    running++
    const started = performance.now()
    let produced: Produced
    try {
      produced = await produce()
    } catch (error) {
      running--
      throw error
    }
    const { stream, release } = produced
    let outcome: ExportSummary['outcome'] = 'aborted'
    stream.once('end', () => (outcome = 'completed'))
    stream.once('error', (error) => {
      // With compression the source sits in a pipeline, which destroys it with a premature-close
      // error when the client leaves: that is an abort, not a failure. A reset of the *database*
      // connection can carry the same codes while the client is still there: that is a failure.
      if (isPrematureClose(error) && (reply.raw.destroyed || request.raw.socket?.destroyed !== false)) return
      outcome = 'failed'
      request.log.error({ err: error, route }, 'export failed mid-stream; response cut off')
    })
    stream.once('close', () => {
      running--
      release?.()
      const summary: ExportSummary = {
        route,
        source,
        outcome,
        rows: stream.rowCount,
        bytes: stream.byteCount,
        durationMs: performance.now() - started,
      }
      request.log.info({ export: summary }, 'export finished')
      resolved.onExportEnd?.(summary)
    })
    if (encoding !== 'identity') reply.header('content-encoding', encoding)
    return reply.send(
      compressExport(stream, encoding, {
        onError: (error) => request.log.error({ err: error, route }, 'export compression failed'),
      }),
    )
  }

  app.route({
    method: methods,
    url: '/export/items.csv',
    handler: (request, reply) => withBadInput(reply, () => itemsExport(request, reply, 'csv')),
  })
  app.route({
    method: methods,
    url: '/export/items.ndjson',
    handler: (request, reply) => withBadInput(reply, () => itemsExport(request, reply, 'ndjson')),
  })
  app.route({
    method: methods,
    url: '/export/generated.csv',
    handler: (request, reply) => withBadInput(reply, () => generatedExport(request, reply)),
  })

  async function itemsExport(request: FastifyRequest, reply: FastifyReply, format: 'csv' | 'ndjson') {
    const query = request.query as Query
    const filter = parseFilter(query)
    const columns = parseColumns(query.columns, ITEM_EXPORT_COLUMNS)
    const via = parseVia(query.via, format, exportDb, resolved.copy)

    // The version query runs on the export connection too: on SQLite it scans an index, which on
    // the service's connection would fill its large page cache and memory map.
    const handle: ExportHandle = await exportDb.acquire()
    let handedOver = false
    try {
      const version = await itemsVersion(handle.db, filter)
      const etag = exportEtag({
        count: version.count,
        maxUpdatedAt: version.maxUpdatedAt,
        variant: JSON.stringify([
          format,
          columns,
          filter.category ?? null,
          filter.since?.toISOString() ?? null,
        ]),
      })
      // A category may hold anything, slashes included; contentDisposition escapes the rest.
      const name =
        filter.category === undefined
          ? `items.${format}`
          : `items-${filter.category.replace(/[\\/]/g, '_')}.${format}`
      setExportHeaders(reply, format, name, etag)
      if (ifNoneMatchMatches(request.headers['if-none-match'], etag)) return reply.code(304).send()
      if (request.method === 'HEAD') return headOnly(request, reply)

      const route = `/export/items.${format}`
      if (via === 'copy') {
        const compiled = itemsCopyQuery(exportDb.db, filter, columns, true)
        return await startExport(request, reply, route, 'postgres-copy', () => ({
          stream: pgCopyCsv(exportDb.pool!, compiled),
        }))
      }
      const source = exportDb.dialect === 'postgres' ? 'postgres-cursor' : 'sqlite'
      return await startExport(request, reply, route, source, () => {
        // PostgreSQL: batches straight from pg-cursor (one promise per batch, next batch fetched
        // while this one is encoded); SQLite: Kysely's row stream on the export's own connection.
        const rows =
          exportDb.dialect === 'postgres'
            ? pgCursorSource<ItemExportRow>(
                exportDb.pool!,
                Cursor,
                itemsCursorQuery(handle.db, filter, columns),
                { batchSize: resolved.batchSize },
              )
            : kyselySource<ItemExportRow>(itemsQuery(handle.db, exportDb.dialect, filter, columns), {
                batchSize: resolved.batchSize,
              })
        const stream = format === 'csv' ? toCsv(rows, columns) : toNdjson(rows)
        handedOver = true
        return { stream, release: handle.release }
      })
    } finally {
      if (!handedOver) handle.release()
    }
  }

  async function generatedExport(request: FastifyRequest, reply: FastifyReply) {
    const query = request.query as Query
    const rows = parseRowCount(single(query.rows, 'rows'), resolved.maxGeneratedRows, DEFAULT_GENERATED_ROWS)
    // Generated data never changes for a given count: the count is the whole version.
    const etag = exportEtag({ count: rows, maxUpdatedAt: null, variant: 'generated.csv' })
    setExportHeaders(reply, 'csv', 'generated.csv', etag)
    if (ifNoneMatchMatches(request.headers['if-none-match'], etag)) return reply.code(304).send()
    if (request.method === 'HEAD') return headOnly(request, reply)
    return startExport(request, reply, '/export/generated.csv', 'generated', () => ({
      stream: toCsv(generatedRows(rows), ['id', 'name', 'value']),
    }))
  }
}

function parseFilter(query: Query): ItemsExportFilter {
  const filter: ItemsExportFilter = {}
  const category = single(query.category, 'category')
  if (category !== undefined && category !== '') {
    if (category.length > MAX_CATEGORY_LENGTH) {
      throw new ExportParameterError(
        'E_EXPORT_INVALID_PARAMETER',
        'category',
        category,
        `at most ${MAX_CATEGORY_LENGTH} characters`,
      )
    }
    filter.category = category
  }
  const since = parseIsoDate(single(query.since, 'since'), 'since')
  if (since !== undefined) filter.since = since
  return filter
}

function parseVia(
  value: unknown,
  format: 'csv' | 'ndjson',
  db: ExportDatabase,
  copyAllowed: boolean,
): 'copy' | 'cursor' {
  const via = single(value, 'via')
  const copyPossible = copyAllowed && format === 'csv' && db.dialect === 'postgres'
  if (via === undefined || via === '') return copyPossible ? 'copy' : 'cursor'
  if (via === 'cursor') return 'cursor'
  if (via === 'copy' && copyPossible) return 'copy'
  throw new ExportParameterError(
    'E_EXPORT_INVALID_PARAMETER',
    'via',
    via,
    copyPossible ? '"cursor" or "copy"' : '"cursor" (COPY needs PostgreSQL, CSV and the copy option)',
  )
}

/** A query parameter given once; repeated parameters are a 400, not a silent pick. */
function single(value: unknown, name: string): string | undefined {
  if (value === undefined || typeof value === 'string') return value
  throw new ExportParameterError(
    'E_EXPORT_INVALID_PARAMETER',
    name,
    value,
    'the parameter once, not repeated',
  )
}

function setExportHeaders(
  reply: FastifyReply,
  format: 'csv' | 'ndjson',
  filename: string,
  etag: string,
): void {
  reply
    .header(
      'content-type',
      format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8',
    )
    .header('content-disposition', contentDisposition(filename))
    .header('etag', etag)
    .header('cache-control', 'private, no-cache')
    .header('vary', 'accept-encoding')
    .header('x-content-type-options', 'nosniff')
}

function headOnly(request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const encoding = negotiateEncoding(request.headers['accept-encoding']) ?? 'identity'
  if (encoding !== 'identity') reply.header('content-encoding', encoding)
  return reply.send()
}

/** Client mistakes become `400 { error: { code, message } }` here, whatever error handler the app has. */
async function withBadInput(reply: FastifyReply, run: () => Promise<FastifyReply>): Promise<FastifyReply> {
  try {
    return await run()
  } catch (error) {
    for (const header of ['content-disposition', 'content-encoding', 'etag', 'vary'])
      reply.removeHeader(header)
    if (error instanceof HotpathError && error.statusCode !== undefined && error.statusCode < 500) {
      return reply
        .code(error.statusCode)
        .header('cache-control', 'no-store')
        .type('application/json; charset=utf-8')
        .send({ error: { code: error.code, message: error.message } })
    }
    if (error instanceof ExportBusyError) {
      return reply
        .code(503)
        .header('retry-after', '1')
        .type('application/json; charset=utf-8')
        .send({ error: { code: error.code, message: error.message } })
    }
    throw error
  }
}
