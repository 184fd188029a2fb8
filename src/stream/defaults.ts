/** Named defaults of the streaming exports. */

/** Bytes (UTF-16 code units, close enough) gathered before one chunk is pushed downstream. */
export const DEFAULT_CHUNK_SIZE = 64 * 1024

/** Rows fetched per database round trip by the cursor sources. */
export const DEFAULT_BATCH_SIZE = 1_000

/** RFC 4180 field separator. */
export const DEFAULT_DELIMITER = ','

/** RFC 4180 line break. */
export const DEFAULT_NEWLINE = '\r\n'

/** UTF-8 byte order mark, which makes Excel read the file as UTF-8. */
export const BOM = '\uFEFF'

/**
 * Brotli quality for on-the-fly compression. zlib's default (11) compresses a CSV export at a few
 * MB/s, far slower than the database produces it; 4 keeps most of the ratio at gzip-like speed.
 */
export const DEFAULT_BROTLI_QUALITY = 4

/** gzip level for on-the-fly compression (zlib's default balance). */
export const DEFAULT_GZIP_LEVEL = 6
