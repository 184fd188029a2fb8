/**
 * Proactive content negotiation: content coding (`Accept-Encoding`) and response format (`Accept`).
 */
import type { ContentCoding } from './etag.js'

/** Response formats a route can produce. */
export type ResponseFormat = 'json' | 'msgpack'

export const MSGPACK_CONTENT_TYPE = 'application/msgpack'
export const JSON_CONTENT_TYPE = 'application/json; charset=utf-8'

interface Weighted {
  readonly name: string
  readonly q: number
}

function parseWeighted(value: string): Weighted[] {
  const out: Weighted[] = []
  for (const part of value.split(',')) {
    const [rawName, ...params] = part.split(';')
    const name = (rawName ?? '').trim().toLowerCase()
    if (!name) continue
    let q = 1
    for (const param of params) {
      const [k, v] = param.split('=')
      if (k?.trim().toLowerCase() === 'q') {
        const parsed = Number(v?.trim())
        q = Number.isFinite(parsed) ? Math.min(1, Math.max(0, parsed)) : 0
      }
    }
    out.push({ name, q })
  }
  return out
}

// Clients send a handful of distinct Accept-Encoding strings; remember the answers (bounded).
const MEMO_LIMIT = 256
const encodingMemo = new Map<string, ContentCoding>()
const CODING_PREFERENCE: readonly ContentCoding[] = ['br', 'gzip', 'identity']

/**
 * Pick the content coding to send from those available, following `Accept-Encoding` q-values and
 * preferring br, then gzip, then identity at equal weight. Identity is the fallback when nothing
 * acceptable is available (a 406 for identity;q=0 would help no one).
 *
 * @example
 * negotiateEncoding('gzip, deflate, br', ['br', 'gzip', 'identity']) // 'br'
 * negotiateEncoding('gzip;q=1, br;q=0.5', ['br', 'gzip', 'identity']) // 'gzip'
 */
export function negotiateEncoding(
  acceptEncoding: string | undefined,
  available: readonly ContentCoding[],
): ContentCoding {
  if (!acceptEncoding || available.length <= 1) return 'identity'
  const memoKey = available.length === 3 ? acceptEncoding : `${available.join(',')}|${acceptEncoding}`
  const memo = encodingMemo.get(memoKey)
  if (memo !== undefined) return memo
  const weights = parseWeighted(acceptEncoding)
  const star = weights.find((w) => w.name === '*')
  const weightOf = (coding: ContentCoding): number => {
    const explicit = weights.find((w) => w.name === coding || (coding === 'gzip' && w.name === 'x-gzip'))
    if (explicit) return explicit.q
    if (coding === 'identity') return star && star.q === 0 ? 0 : 1e-3
    return star ? star.q : 0
  }
  let best: ContentCoding = 'identity'
  let bestQ = -1
  for (const coding of CODING_PREFERENCE) {
    if (!available.includes(coding)) continue
    const q = weightOf(coding)
    if (q > 0 && q > bestQ) {
      best = coding
      bestQ = q
    }
  }
  if (encodingMemo.size >= MEMO_LIMIT) encodingMemo.clear()
  encodingMemo.set(memoKey, best)
  return best
}

/**
 * Pick the response format from `Accept`: msgpack only when the client asks for it
 * (`application/msgpack` or `application/x-msgpack`) with a higher weight than JSON; JSON otherwise.
 *
 * @example
 * negotiateFormat('application/msgpack') // 'msgpack'
 * negotiateFormat('*\/*') // 'json'
 */
export function negotiateFormat(accept: string | undefined): ResponseFormat {
  if (!accept || !accept.includes('msgpack')) return 'json'
  const weights = parseWeighted(accept)
  let msgpack = 0
  let json = 0
  for (const w of weights) {
    if (w.name === 'application/msgpack' || w.name === 'application/x-msgpack')
      msgpack = Math.max(msgpack, w.q)
    else if (w.name === 'application/json' || w.name === 'application/*' || w.name === '*/*') {
      json = Math.max(json, w.name === 'application/json' ? w.q : w.q - 1e-3)
    }
  }
  return msgpack > 0 && msgpack >= json ? 'msgpack' : 'json'
}
