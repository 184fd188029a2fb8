/**
 * Compress a stored body once, at write time, into the codings worth sending.
 */
import { promisify } from 'node:util'
import zlib from 'node:zlib'

/** Bodies smaller than this are never compressed. */
export const DEFAULT_COMPRESSION_THRESHOLD = 1024
/** A coding is kept only when it saves at least this fraction of the bytes. */
export const DEFAULT_MIN_SAVING = 0.1
/** Brotli quality for stored variants: compressed once per entry, so better than the on-the-fly default. */
export const DEFAULT_BROTLI_QUALITY = 6
/** Above this size compression runs on the libuv pool instead of the event loop. */
const ASYNC_THRESHOLD = 64 * 1024

const gzipAsync = promisify(zlib.gzip)
const brotliAsync = promisify(zlib.brotliCompress)

const COMPRESSIBLE =
  /^(?:text\/|application\/(?:json|javascript|xml|x-ndjson|ld\+json|problem\+json|graphql-response\+json)|image\/svg\+xml|[^;]*\+(?:json|xml))/i

/** Whether a content type is worth compressing (text-like). */
export function isCompressible(contentType: string | undefined): boolean {
  return contentType !== undefined && COMPRESSIBLE.test(contentType.trimStart())
}

/** Options for {@link compressVariants}. */
export interface CompressionOptions {
  /** @default DEFAULT_COMPRESSION_THRESHOLD (1024 bytes) */
  threshold?: number
  /** @default DEFAULT_BROTLI_QUALITY (6) */
  brotliQuality?: number
  /** @default DEFAULT_MIN_SAVING (0.1) */
  minSaving?: number
}

/** The compressed variants of a body; a coding is absent when it was not worth it. */
export interface CompressedVariants {
  gzip?: Buffer
  br?: Buffer
}

/**
 * Compress `body` with gzip and brotli when it is large enough and the result is smaller by at
 * least `minSaving`.
 *
 * @example
 * const { gzip, br } = await compressVariants(Buffer.from(JSON.stringify(bigObject)))
 */
export async function compressVariants(
  body: Buffer,
  options: CompressionOptions = {},
): Promise<CompressedVariants> {
  const threshold = options.threshold ?? DEFAULT_COMPRESSION_THRESHOLD
  const minSaving = options.minSaving ?? DEFAULT_MIN_SAVING
  if (body.length < threshold) return {}
  const brOptions = {
    params: {
      [zlib.constants.BROTLI_PARAM_QUALITY]: options.brotliQuality ?? DEFAULT_BROTLI_QUALITY,
      [zlib.constants.BROTLI_PARAM_SIZE_HINT]: body.length,
    },
  }
  const [gzip, br] =
    body.length >= ASYNC_THRESHOLD
      ? await Promise.all([gzipAsync(body), brotliAsync(body, brOptions)])
      : [zlib.gzipSync(body), zlib.brotliCompressSync(body, brOptions)]
  const limit = body.length * (1 - minSaving)
  const out: CompressedVariants = {}
  if (gzip.length <= limit) out.gzip = gzip
  if (br.length <= limit) out.br = br
  return out
}
