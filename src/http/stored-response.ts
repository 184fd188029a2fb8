/**
 * A response as the response cache stores it, and the precomputed per-coding header sets that let
 * a hit (or a 304) be written without touching the body or doing any JSON work.
 */
import { hash } from 'node:crypto'
import { formatCacheControl } from './cache-control.js'
import type { ResolvedCacheControlPolicy } from './cache-control.js'
import { compressSync } from './compression.js'
import type { CompressionOptions } from './compression.js'
import { etagForCoding } from './etag.js'
import type { ContentCoding } from './etag.js'
import { negotiateEncoding } from './negotiation.js'
import { evaluatePreconditions, isConditional, selectCodingForRevalidation } from './preconditions.js'
import type { ConditionalHeaders } from './preconditions.js'

/**
 * The cached value: plain data and Buffers only, so every cache codec round-trips it.
 * Header names are lower-case.
 */
export interface StoredResponse {
  readonly status: number
  /** Headers replayed on every answer (content-type, content-location, expires, link…). */
  readonly headers: readonly (readonly [string, string])[]
  /** The identity body. */
  readonly body: Buffer
  readonly gzip?: Buffer | undefined
  readonly br?: Buffer | undefined
  /**
   * Set when the gzip and brotli variants are computed on demand, with these options: when a
   * request first accepts a coding, once per stored response and process (then `gzip` and `br`
   * are absent). A coding that saves too little is never sent.
   */
  readonly compress?: Readonly<CompressionOptions> | undefined
  /** The route policy the `Cache-Control` header is rendered from (remaining freshness on each answer). */
  readonly policy: ResolvedCacheControlPolicy
  /** Render `Cache-Control` as private whatever the policy says (credentialed request, Set-Cookie…). */
  readonly private: boolean
  /** Stored as public from a request without credentials: the fast lane may serve it. */
  readonly public: boolean
  /** The `Vary` header value (`''` for none). */
  readonly vary: string
  /** Space-separated tags for CDNs (`''` for none). */
  readonly surrogateKey: string
  /** Last-Modified (epoch ms), when the handler set one. */
  readonly lastModified?: number | undefined
}

/** Strong ETag from a body hash: the fallback validator when there is no entity version. */
export function hashETag(body: Buffer | string): string {
  return `"${hash('sha1', body, 'base64url')}"`
}

/**
 * A ready-to-write answer. `headers` / `rawHeaders` are shared by every answer of the same stored
 * variant and must not be mutated; `cacheControl` and `xCache` are the per-answer values to add.
 */
export interface PreparedAnswer {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  /** `headers` (plus `content-length` when there is a body) as a flat `[name, value, …]` list for `res.writeHead`. */
  readonly rawHeaders: readonly string[]
  /** `Cache-Control` with the remaining freshness (`''` when the policy renders none). */
  readonly cacheControl: string
  readonly xCache: string | undefined
  /** Undefined for 304 and 412. */
  readonly body: Buffer | undefined
}

interface CodingVariant {
  readonly coding: ContentCoding
  readonly body: Buffer
  readonly etag: string
  /** Headers of a 200 except Cache-Control and X-Cache, which change per answer. */
  readonly full: Readonly<Record<string, string>>
  readonly fullRaw: readonly string[]
  /** Headers of a 304 (RFC 9110 §15.4.5: the ones a 200 would carry that describe the response). */
  readonly notModified: Readonly<Record<string, string>>
  readonly notModifiedRaw: readonly string[]
  /** The last unconditional answer built from this variant, for its age second and X-Cache value. */
  unconditional: RawAnswer | undefined
  unconditionalAge: number
  unconditionalXCache: string | undefined
}

interface Prepared {
  /** Codings that can be sent, preferred first; a coding found not worth compressing is dropped. */
  codings: ContentCoding[]
  /** Variants built so far (compressed ones when a request first accepts them). */
  readonly variants: Partial<Record<ContentCoding, CodingVariant>>
  /** The ETag of every coding in `codings` (what `If-Match` compares against). */
  allTags: readonly string[]
  readonly etag: string
  /** Whole seconds of age `ccAge` was rendered for. */
  ccAgeSeconds: number
  ccAge: string
}

// Headers that a 304 repeats: RFC 9110 §15.4.5 (Content-Location, Date, ETag, Vary, Cache-Control,
// Expires) plus Last-Modified and Surrogate-Key which are harmless and useful.
const NOT_MODIFIED_HEADERS = new Set(['content-location', 'expires', 'last-modified'])
const ALL_CODINGS: readonly ContentCoding[] = ['br', 'gzip', 'identity']

const prepared = new WeakMap<StoredResponse, Prepared>()

function prepare(stored: StoredResponse, etag: string): Prepared {
  const cached = prepared.get(stored)
  if (cached) return cached
  let codings: ContentCoding[]
  if (stored.compress !== undefined) codings = [...ALL_CODINGS]
  else {
    codings = []
    if (stored.br) codings.push('br')
    if (stored.gzip) codings.push('gzip')
    codings.push('identity')
  }
  const result: Prepared = {
    codings,
    variants: {},
    allTags: codings.map((c) => etagForCoding(etag, c)),
    etag,
    ccAgeSeconds: Number.NaN,
    ccAge: '',
  }
  prepared.set(stored, result)
  return result
}

/**
 * The variant of `coding`, built on first use: a compressed body is computed (once per stored
 * response and process) only when a request accepts that coding. Undefined when compressing turned
 * out not to be worth it; the coding is then dropped from `p.codings`.
 */
function variantOf(p: Prepared, stored: StoredResponse, coding: ContentCoding): CodingVariant | undefined {
  const known = p.variants[coding]
  if (known) return known
  let body: Buffer | undefined
  if (coding === 'identity') body = stored.body
  else body = stored[coding] ?? (stored.compress && compressSync(stored.body, coding, stored.compress))
  if (body === undefined) {
    p.codings = p.codings.filter((c) => c !== coding)
    p.allTags = p.codings.map((c) => etagForCoding(p.etag, c))
    return undefined
  }
  const codedTag = etagForCoding(p.etag, coding)
  const full: Record<string, string> = {}
  const notModified: Record<string, string> = {}
  for (const [name, value] of stored.headers) {
    full[name] = value
    if (NOT_MODIFIED_HEADERS.has(name)) notModified[name] = value
  }
  full.etag = codedTag
  notModified.etag = codedTag
  if (stored.vary) {
    full.vary = stored.vary
    notModified.vary = stored.vary
  }
  if (stored.surrogateKey) {
    full['surrogate-key'] = stored.surrogateKey
    notModified['surrogate-key'] = stored.surrogateKey
  }
  if (coding !== 'identity') full['content-encoding'] = coding
  const variant: CodingVariant = {
    coding,
    body,
    etag: codedTag,
    // Not frozen: V8 copies frozen arrays on a slow path (10x slower `slice()` measured here).
    full,
    fullRaw: [...Object.entries(full).flat(), 'content-length', String(body.length)],
    notModified,
    notModifiedRaw: Object.entries(notModified).flat(),
    unconditional: undefined,
    unconditionalAge: Number.NaN,
    unconditionalXCache: undefined,
  }
  p.variants[coding] = variant
  return variant
}

/** The variant to send for `accept-encoding` (negotiated among the codings worth sending). */
function negotiatedVariant(
  p: Prepared,
  stored: StoredResponse,
  acceptEncoding: string | undefined,
  inm: string | string[] | undefined,
  request: AnswerRequest,
): CodingVariant {
  for (;;) {
    let coding = negotiateEncoding(acceptEncoding, p.codings)
    if (inm !== undefined) coding = selectCodingForRevalidation(inm, p.etag, acceptable(p, request), coding)
    const variant = variantOf(p, stored, coding)
    // Identity always exists, so this ends.
    if (variant) return variant
  }
}

// `Cache-Control` with the remaining freshness, rendered once per whole second of age.
function cacheControlAt(p: Prepared, stored: StoredResponse, ageMs: number): string {
  const seconds = Math.floor(ageMs / 1000)
  if (p.ccAgeSeconds !== seconds) {
    p.ccAgeSeconds = seconds
    p.ccAge = formatCacheControl(stored.policy, { ageMs, forcePrivate: stored.private })
  }
  return p.ccAge
}

/** The request facts an answer depends on. */
export interface AnswerRequest {
  readonly method: string
  readonly headers: ConditionalHeaders & { 'accept-encoding'?: string | undefined }
}

/**
 * Answer a GET/HEAD from a stored response: negotiate the content coding, evaluate the
 * preconditions against the stored validators (a 304 is built from metadata alone), render
 * `Cache-Control` with the remaining freshness.
 *
 * @param etag the entry's base (identity) entity tag
 * @param createdAt when the stored response was generated (epoch ms)
 * @param xCache the value of `X-Cache`, or undefined to omit it
 */
export function answerFromStored(
  stored: StoredResponse,
  etag: string,
  createdAt: number,
  request: AnswerRequest,
  now: number,
  xCache: string | undefined,
): PreparedAnswer {
  const p = prepare(stored, etag)
  const headers = request.headers
  const inm = headers['if-none-match']
  const variant = negotiatedVariant(p, stored, headers['accept-encoding'], inm, request)
  const result =
    isConditional(headers) && stored.status >= 200 && stored.status < 300
      ? evaluatePreconditions(
          headers,
          {
            etag: headers['if-match'] === undefined ? variant.etag : p.allTags,
            lastModified: stored.lastModified,
          },
          request.method,
        )
      : 'proceed'
  const cacheControl = result === 412 ? '' : cacheControlAt(p, stored, now - createdAt)
  if (result === 304) {
    return {
      status: 304,
      headers: variant.notModified,
      rawHeaders: variant.notModifiedRaw,
      cacheControl,
      xCache,
      body: undefined,
    }
  }
  if (result === 412) {
    return {
      status: 412,
      headers: EMPTY,
      rawHeaders: [],
      cacheControl: '',
      xCache: undefined,
      body: undefined,
    }
  }
  // HEAD keeps the body so Content-Length is right; Node never writes a body for HEAD.
  return {
    status: stored.status,
    headers: variant.full,
    rawHeaders: variant.fullRaw,
    cacheControl,
    xCache,
    body: variant.body,
  }
}

/** An answer as `res.writeHead(status, rawHeaders)` + `res.end(body)` takes it. */
export interface RawAnswer {
  readonly status: number
  /** Every header, `Cache-Control` and `X-Cache` included, as `[name, value, …]`; must not be mutated. */
  readonly rawHeaders: readonly string[]
  /** Undefined for 304 and 412. */
  readonly body: Buffer | undefined
}

/**
 * {@link answerFromStored} as a raw header list for `node:http`. The unconditional answer of a
 * variant is built once per second of age and X-Cache value and then returned as is, so a hot
 * entry costs a lookup, `writeHead` and `end`.
 *
 * @example
 * const answer = rawAnswerFromStored(hit.stored, hit.entry.etag, hit.entry.createdAt, req, Date.now(), 'hit-l1')
 * res.writeHead(answer.status, answer.rawHeaders as string[]).end(answer.body)
 */
export function rawAnswerFromStored(
  stored: StoredResponse,
  etag: string,
  createdAt: number,
  request: AnswerRequest,
  now: number,
  xCache: string | undefined,
): RawAnswer {
  const headers = request.headers
  if (isConditional(headers)) {
    const answer = answerFromStored(stored, etag, createdAt, request, now, xCache)
    return { status: answer.status, rawHeaders: withPerAnswer(answer.rawHeaders, answer), body: answer.body }
  }
  const p = prepare(stored, etag)
  const variant = negotiatedVariant(p, stored, headers['accept-encoding'], undefined, request)
  const ageMs = now - createdAt
  const age = Math.floor(ageMs / 1000)
  const memo = variant.unconditional
  if (memo !== undefined && variant.unconditionalAge === age && variant.unconditionalXCache === xCache) {
    return memo
  }
  const cacheControl = cacheControlAt(p, stored, ageMs)
  // In the order Fastify writes a routed hit: stored headers, Cache-Control, X-Cache, Content-Length.
  const rawHeaders = Object.entries(variant.full).flat()
  if (cacheControl) rawHeaders.push('cache-control', cacheControl)
  if (xCache) rawHeaders.push('x-cache', xCache)
  rawHeaders.push('content-length', String(variant.body.length))
  const answer: RawAnswer = {
    status: stored.status,
    rawHeaders,
    // HEAD keeps the body so Content-Length is right; Node never writes a body for HEAD.
    body: variant.body,
  }
  variant.unconditional = answer
  variant.unconditionalAge = age
  variant.unconditionalXCache = xCache
  return answer
}

function withPerAnswer(
  raw: readonly string[],
  answer: { readonly cacheControl: string; readonly xCache: string | undefined },
): string[] {
  const out = raw.slice()
  if (answer.cacheControl) out.push('cache-control', answer.cacheControl)
  if (answer.xCache) out.push('x-cache', answer.xCache)
  return out
}

const EMPTY: Readonly<Record<string, string>> = {}

function acceptable(p: Prepared, request: AnswerRequest): ContentCoding[] {
  const ae = request.headers['accept-encoding']
  return p.codings.filter(
    (c) => c === 'identity' || (ae !== undefined && negotiateEncoding(ae, [c, 'identity']) === c),
  )
}

/** The byte size of a stored response (bodies and variants), for bounds. */
export function storedSize(stored: StoredResponse): number {
  return stored.body.length + (stored.gzip?.length ?? 0) + (stored.br?.length ?? 0)
}
