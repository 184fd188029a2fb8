/**
 * Conditional request evaluation, RFC 9110 §13.2.2.
 */
import { etagForCoding, parseETag, parseETagList, strongMatch, weakMatch } from './etag.js'
import type { ContentCoding, EntityTag, EntityTagList } from './etag.js'
import { parseHttpDate } from './http-date.js'

/** The conditional request headers, as Node exposes them (lower-case names). */
export interface ConditionalHeaders {
  'if-match'?: string | string[] | undefined
  'if-none-match'?: string | string[] | undefined
  'if-modified-since'?: string | string[] | undefined
  'if-unmodified-since'?: string | string[] | undefined
}

/** Whether the request carries any precondition (RFC 9110 §13.1); most requests carry none. */
export function isConditional(headers: ConditionalHeaders): boolean {
  return (
    headers['if-match'] !== undefined ||
    headers['if-none-match'] !== undefined ||
    headers['if-modified-since'] !== undefined ||
    headers['if-unmodified-since'] !== undefined
  )
}

/** What the server knows about the selected representation. */
export interface Validators {
  /**
   * The current entity tag (quoted, optionally `W/`), when there is one. Several tags mean "any of
   * these denotes the current state" (e.g. the content-coded variants of one stored response).
   */
  etag?: string | readonly string[] | undefined
  /** Last modification time (epoch ms), when known. */
  lastModified?: number | undefined
  /**
   * Whether the target resource currently has a representation (`If-Match: *` is true and
   * `If-None-Match: *` false when it does). @default true
   */
  exists?: boolean
}

/**
 * The outcome: carry on with the method, answer `304 Not Modified`, or `412 Precondition Failed`.
 * The caller must only evaluate preconditions when the response without them would be 2xx
 * (RFC 9110 §13.2.1): a 404 never becomes a 304.
 */
export type PreconditionResult = 'proceed' | 304 | 412

/**
 * Evaluate `If-Match`, `If-Unmodified-Since`, `If-None-Match` and `If-Modified-Since` in the order
 * RFC 9110 §13.2.2 prescribes. `If-Range` is out of scope.
 *
 * @example
 * evaluatePreconditions({ 'if-none-match': '"v1"' }, { etag: '"v1"' }, 'GET') // 304
 * evaluatePreconditions({ 'if-none-match': '"v1"' }, { etag: '"v1"' }, 'POST') // 412
 */
export function evaluatePreconditions(
  headers: ConditionalHeaders,
  validators: Validators,
  method: string,
): PreconditionResult {
  const exists = validators.exists ?? true
  const safe = method === 'GET' || method === 'HEAD'

  // Step 1: If-Match (strong comparison).
  const ifMatch = parseETagList(headers['if-match'])
  if (ifMatch !== undefined) {
    if (!ifMatchPasses(ifMatch, currentTags(validators.etag), exists)) return 412
  } else {
    // Step 2: If-Unmodified-Since, only without If-Match.
    const since = parseHttpDate(first(headers['if-unmodified-since']))
    if (since !== undefined && validators.lastModified !== undefined && exists) {
      if (seconds(validators.lastModified) > seconds(since)) return 412
    }
  }

  // Step 3: If-None-Match (weak comparison).
  const ifNoneMatch = parseETagList(headers['if-none-match'])
  if (ifNoneMatch !== undefined) {
    if (!ifNoneMatchPasses(ifNoneMatch, currentTags(validators.etag), exists)) return safe ? 304 : 412
    return 'proceed'
  }

  // Step 4: If-Modified-Since, GET/HEAD only, only without If-None-Match.
  if (safe && exists && validators.lastModified !== undefined) {
    const since = parseHttpDate(first(headers['if-modified-since']))
    // A date in the future is invalid (RFC 9110 §13.1.3) and ignored.
    if (since !== undefined && since <= Date.now() && seconds(validators.lastModified) <= seconds(since)) {
      return 304
    }
  }
  return 'proceed'
}

function currentTags(etag: string | readonly string[] | undefined): EntityTag[] {
  if (etag === undefined) return []
  const out: EntityTag[] = []
  for (const text of typeof etag === 'string' ? [etag] : etag) {
    const tag = parseETag(text)
    if (tag) out.push(tag)
  }
  return out
}

function ifMatchPasses(list: EntityTagList, current: readonly EntityTag[], exists: boolean): boolean {
  if (list === '*') return exists
  if (!exists) return false
  return list.some((tag) => current.some((c) => strongMatch(tag, c)))
}

function ifNoneMatchPasses(list: EntityTagList, current: readonly EntityTag[], exists: boolean): boolean {
  if (list === '*') return !exists
  if (!exists) return true
  return !list.some((tag) => current.some((c) => weakMatch(tag, c)))
}

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value
}

// HTTP-dates have one-second resolution; compare on that grid so a sub-second Last-Modified
// still revalidates against the date it was sent as.
function seconds(ms: number): number {
  return Math.floor(ms / 1000)
}

/**
 * For a response that exists in several content codings, pick which coded variant to answer a
 * conditional GET with: when `If-None-Match` names the tag of a variant the client accepts, that
 * variant is selected (the client already holds it, so a 304 is correct); otherwise `preferred`.
 *
 * @example
 * // the client holds the gzip body and now also accepts br: revalidate its gzip copy
 * selectCodingForRevalidation('"abc-gz"', '"abc"', ['br', 'gzip', 'identity'], 'br') // 'gzip'
 */
export function selectCodingForRevalidation(
  ifNoneMatch: string | string[] | undefined,
  baseEtag: string,
  available: readonly ContentCoding[],
  preferred: ContentCoding,
): ContentCoding {
  if (ifNoneMatch === undefined || available.length < 2) return preferred
  const list = parseETagList(ifNoneMatch)
  if (list === undefined || list === '*') return preferred
  for (const coding of available) {
    const tag = parseETag(etagForCoding(baseEtag, coding))
    if (tag && list.some((held) => weakMatch(held, tag))) return coding
  }
  return preferred
}
