import type { Readable, Transform } from 'node:stream'
import { pipeline } from 'node:stream'
import { constants, createBrotliCompress, createGzip } from 'node:zlib'

import { DEFAULT_BROTLI_QUALITY, DEFAULT_GZIP_LEVEL } from './defaults.js'

export type ExportEncoding = 'br' | 'gzip' | 'identity'

const SERVER_PREFERENCE: readonly ExportEncoding[] = ['br', 'gzip', 'identity']

/**
 * Pick the response encoding from an `Accept-Encoding` header (RFC 9110 §12.5.3): the acceptable
 * coding with the highest q-value, brotli before gzip on ties; `identity` when nothing else fits.
 * Returns `undefined` only when the client forbids every coding including identity.
 *
 * @example
 * negotiateEncoding('gzip, br;q=0.5') // 'gzip'
 */
export function negotiateEncoding(acceptEncoding: string | undefined): ExportEncoding | undefined {
  if (acceptEncoding === undefined || acceptEncoding.trim() === '') return 'identity'
  const weights = new Map<string, number>()
  for (const part of acceptEncoding.split(',')) {
    const [name, ...params] = part.split(';')
    const coding = name?.trim().toLowerCase()
    if (!coding) continue
    let q = 1
    for (const param of params) {
      const match = /^\s*q\s*=\s*([0-9.]+)\s*$/i.exec(param)
      if (match) q = Number(match[1])
    }
    if (Number.isFinite(q)) weights.set(coding, Math.min(Math.max(q, 0), 1))
  }
  const wildcard = weights.get('*')
  let best: ExportEncoding | undefined
  let bestQ = 0
  for (const coding of SERVER_PREFERENCE) {
    // identity stays acceptable unless excluded explicitly (identity;q=0 or *;q=0 without identity).
    const q = weights.get(coding) ?? (coding === 'identity' ? (wildcard === 0 ? 0 : 0.001) : (wildcard ?? 0))
    if (q > bestQ) {
      best = coding
      bestQ = q
    }
  }
  return best
}

export interface CompressionOptions {
  /**
   * Brotli quality (0-11). High values are too slow for on-the-fly exports.
   * @default 4
   */
  brotliQuality?: number
  /**
   * gzip level (1-9).
   * @default 6
   */
  gzipLevel?: number
  /** Called once when the compression pipeline fails (not when the consumer merely went away). */
  onError?: (error: Error) => void
}

/**
 * Compress a byte stream on the fly. The source and the compressor are joined with
 * `stream.pipeline`, so destroying the returned stream (the client left) destroys the source too,
 * and backpressure flows from the consumer back to the source.
 *
 * @example
 * const encoding = negotiateEncoding(request.headers['accept-encoding']) ?? 'identity'
 * reply.header('content-encoding', encoding).send(compressExport(toCsv(rows, columns), encoding))
 */
export function compressExport(
  source: Readable,
  encoding: ExportEncoding,
  options: CompressionOptions = {},
): Readable {
  if (encoding === 'identity') return source
  let compressor: Transform
  if (encoding === 'br') {
    compressor = createBrotliCompress({
      params: {
        [constants.BROTLI_PARAM_QUALITY]: options.brotliQuality ?? DEFAULT_BROTLI_QUALITY,
        [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT,
      },
    })
  } else {
    compressor = createGzip({ level: options.gzipLevel ?? DEFAULT_GZIP_LEVEL })
  }
  return pipeline(source, compressor, (error) => {
    if (error && !isPrematureClose(error)) options.onError?.(error)
  })
}

/** True for the error a pipeline reports when its consumer went away before the end. */
export function isPrematureClose(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code
  return (
    code === 'ERR_STREAM_PREMATURE_CLOSE' || code === 'ABORT_ERR' || code === 'ECONNRESET' || code === 'EPIPE'
  )
}
