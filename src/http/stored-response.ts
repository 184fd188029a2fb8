/**
 * A response as the response cache stores it, and the precomputed per-coding header sets that let
 * a hit (or a 304) be written without touching the body or doing any JSON work.
 */
import { hash } from 'node:crypto'
import { formatCacheControl } from './cache-control.js'
import type { ResolvedCacheControlPolicy } from './cache-control.js'
import { etagForCoding } from './etag.js'
import type { ContentCoding } from './etag.js'
import { negotiateEncoding } from './negotiation.js'
import { evaluatePreconditions, selectCodingForRevalidation } from './preconditions.js'
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
}

interface Prepared {
  readonly codings: readonly ContentCoding[]
  readonly variants: Readonly<Partial<Record<ContentCoding, CodingVariant>>>
  readonly allTags: readonly string[]
  ccSecond: number
  ccAge: string
}

// Headers that a 304 repeats: RFC 9110 §15.4.5 (Content-Location, Date, ETag, Vary, Cache-Control,
// Expires) plus Last-Modified and Surrogate-Key which are harmless and useful.
const NOT_MODIFIED_HEADERS = new Set(['content-location', 'expires', 'last-modified'])

const prepared = new WeakMap<StoredResponse, Prepared>()

function prepare(stored: StoredResponse, etag: string): Prepared {
  const cached = prepared.get(stored)
  if (cached) return cached
  const codings: ContentCoding[] = []
  if (stored.br) codings.push('br')
  if (stored.gzip) codings.push('gzip')
  codings.push('identity')
  const variants: Partial<Record<ContentCoding, CodingVariant>> = {}
  for (const coding of codings) {
    const body = coding === 'br' ? stored.br! : coding === 'gzip' ? stored.gzip! : stored.body
    const codedTag = etagForCoding(etag, coding)
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
    const fullRaw = [...Object.entries(full).flat(), 'content-length', String(body.length)]
    variants[coding] = {
      coding,
      body,
      etag: codedTag,
      // Not frozen: V8 copies frozen arrays on a slow path (10x slower `slice()` measured here).
      full,
      fullRaw,
      notModified,
      notModifiedRaw: Object.entries(notModified).flat(),
    }
  }
  const result: Prepared = {
    codings,
    variants,
    allTags: codings.map((c) => variants[c]!.etag),
    ccSecond: -1,
    ccAge: '',
  }
  prepared.set(stored, result)
  return result
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
  let coding = negotiateEncoding(headers['accept-encoding'], p.codings)
  const inm = headers['if-none-match']
  if (inm !== undefined) coding = selectCodingForRevalidation(inm, etag, acceptable(p, request), coding)
  const variant = p.variants[coding]!
  const conditional =
    inm !== undefined ||
    headers['if-match'] !== undefined ||
    headers['if-modified-since'] !== undefined ||
    headers['if-unmodified-since'] !== undefined
  const result =
    conditional && stored.status >= 200 && stored.status < 300
      ? evaluatePreconditions(
          headers,
          {
            etag: headers['if-match'] === undefined ? variant.etag : p.allTags,
            lastModified: stored.lastModified,
          },
          request.method,
        )
      : 'proceed'
  const second = Math.floor(now / 1000)
  if (p.ccSecond !== second) {
    p.ccSecond = second
    p.ccAge = formatCacheControl(stored.policy, { ageMs: now - createdAt, forcePrivate: stored.private })
  }
  if (result === 304) {
    return {
      status: 304,
      headers: variant.notModified,
      rawHeaders: variant.notModifiedRaw,
      cacheControl: p.ccAge,
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
    cacheControl: p.ccAge,
    xCache,
    body: variant.body,
  }
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
