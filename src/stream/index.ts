/**
 * `hotpath/stream`: CSV and NDJSON exports of millions of rows in constant memory, with
 * backpressure, abort that releases the database cursor, and injection-safe cells. Curated by
 * hand; what is not exported here is internal.
 */
export {
  toCsv,
  resolveCsvOptions,
  type CsvColumn,
  type CsvOptions,
  type ResolvedCsvOptions,
} from './to-csv.js'
export { toNdjson, type NdjsonOptions } from './to-ndjson.js'
export { RowEncoderStream, type RowEncoderOptions } from './row-encoder-stream.js'
export { rowBatches, isRowBatchSource, type RowSource, type RowBatchSource } from './row-source.js'
export { pipeExport, type ExportOutcome, type PipeExportOptions } from './pipe-export.js'
export {
  compressExport,
  negotiateEncoding,
  isPrematureClose,
  type CompressionOptions,
  type ExportEncoding,
} from './content-encoding.js'
export { contentDisposition, type ContentDispositionOptions } from './content-disposition.js'
export { exportEtag, ifNoneMatchMatches, type ExportVersion } from './export-etag.js'
export { kyselySource, type KyselySourceOptions, type StreamableQuery } from './sources/kysely-source.js'
export { withSettlingClose, type PgCursorLike } from './sources/pg-cursor-close-fix.js'
export {
  pgCursorSource,
  type PgCursorClient,
  type PgCursorPool,
  type PgCursorQuery,
  type PgCursorReader,
  type PgCursorSourceOptions,
} from './sources/pg-cursor-source.js'
export {
  pgCopyCsv,
  pgNeutralizeFormula,
  PgCopyStream,
  type CopyQuery,
  type PgCopyClient,
  type PgCopyOptions,
  type PgCopyPool,
} from './sources/pg-copy-source.js'
export {
  BOM,
  DEFAULT_BATCH_SIZE,
  DEFAULT_BROTLI_QUALITY,
  DEFAULT_CHUNK_SIZE,
  DEFAULT_DELIMITER,
  DEFAULT_GZIP_LEVEL,
  DEFAULT_NEWLINE,
} from './defaults.js'
export { parseColumns, parseIsoDate, parseRowCount } from './export-params.js'
