/**
 * Compress a stored body into the codings worth sending, once per entry: small bodies when a
 * request first accepts a coding ({@link compressSync}), large ones on the libuv pool when stored
 * ({@link compressVariants}).
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
  if (body.length < (options.threshold ?? DEFAULT_COMPRESSION_THRESHOLD)) return {}
  const [gzip, br] = compressesOnDemand(body, options)
    ? [compressSync(body, 'gzip', options), compressSync(body, 'br', options)]
    : await Promise.all([
        gzipAsync(body).then((out) => worthIt(body, out, options)),
        brotliAsync(body, brotliOptions(body, options)).then((out) => worthIt(body, out, options)),
      ])
  const out: CompressedVariants = {}
  if (gzip) out.gzip = gzip
  if (br) out.br = br
  return out
}

/**
 * Whether a body is small enough to be compressed on the event loop when a request first asks
 * for a coding (larger ones are compressed on the libuv pool when they are stored).
 */
export function compressesOnDemand(body: Buffer, options: CompressionOptions = {}): boolean {
  return body.length >= (options.threshold ?? DEFAULT_COMPRESSION_THRESHOLD) && body.length < ASYNC_THRESHOLD
}

/**
 * Compress `body` into one coding, synchronously; `undefined` when the result does not save at
 * least `minSaving` (then the coding is not worth sending). Below the threshold, never compresses.
 *
 * @example
 * const br = compressSync(body, 'br') // Buffer, or undefined when not worth it
 */
export function compressSync(
  body: Buffer,
  coding: 'gzip' | 'br',
  options: CompressionOptions = {},
): Buffer | undefined {
  if (body.length < (options.threshold ?? DEFAULT_COMPRESSION_THRESHOLD)) return undefined
  const out =
    coding === 'br' ? zlib.brotliCompressSync(body, brotliOptions(body, options)) : zlib.gzipSync(body)
  return worthIt(body, out, options)
}

function brotliOptions(body: Buffer, options: CompressionOptions): zlib.BrotliOptions {
  return {
    params: {
      [zlib.constants.BROTLI_PARAM_QUALITY]: options.brotliQuality ?? DEFAULT_BROTLI_QUALITY,
      [zlib.constants.BROTLI_PARAM_SIZE_HINT]: body.length,
    },
  }
}

function worthIt(body: Buffer, compressed: Buffer, options: CompressionOptions): Buffer | undefined {
  return compressed.length <= body.length * (1 - (options.minSaving ?? DEFAULT_MIN_SAVING))
    ? compressed
    : undefined
}
