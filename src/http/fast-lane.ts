/**
 * The fast lane: answer public stored responses at the Node server's `'request'` handler, before
 * any framework routing or hooks run. Everything it cannot answer falls through unchanged.
 */
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http'
import { negotiateFormat } from './negotiation.js'
import { normalizePath, normalizeUrl } from './normalize-url.js'
import type { LookupResult, ResponseCache } from './response-cache.js'
import { rawAnswerFromStored } from './stored-response.js'
import { varyKey } from './vary.js'

/**
 * Answers a request and returns (or resolves) `true`, or returns (or resolves) `false` without
 * touching the response. An L1 hit is answered synchronously: no promise on the hottest path.
 */
export type FastLaneHandler = (req: IncomingMessage, res: ServerResponse) => boolean | Promise<boolean>

/**
 * Create a fast-lane handler over a response cache. Only GET/HEAD requests without
 * `Authorization` or `Cookie`, for paths whose route stored a public entry, with a fresh entry
 * stored as public, are answered; the key is built exactly as the routed path builds it.
 *
 * @example
 * const lane = createFastLane(responses)
 * const server = http.createServer(async (req, res) => {
 *   if (!(await lane(req, res))) app(req, res)
 * })
 */
export function createFastLane(responses: ResponseCache): FastLaneHandler {
  return (req, res) => {
    const method = req.method
    if (method !== 'GET' && method !== 'HEAD') return false
    const headers = req.headers
    if (headers.authorization !== undefined || headers.cookie !== undefined) return false
    const url = req.url
    if (url === undefined) return false
    const queryAt = url.indexOf('?')
    let path: string | undefined = queryAt === -1 ? url : url.slice(0, queryAt)
    // Without '%' the raw path is already in normal form.
    if (path.includes('%')) path = normalizePath(path)
    const route = path === undefined ? undefined : responses.routeFor(path)
    if (!route) return false
    const normalized = normalizeUrl(url, route.query, { staticFiles: route.staticFiles })
    if (!normalized.ok) return false
    const key = responses.keyFor({
      method: 'GET',
      url: normalized.url,
      vary: route.vary.length === 0 ? '' : varyKey(headers, route.vary),
      format: route.negotiate ? negotiateFormat(headers.accept) : 'json',
    })
    const peeked = responses.peek(key)
    if (peeked) return serve(peeked, key, method, headers, res, responses)
    return responses.lookup(key).then((hit) => serve(hit, key, method, headers, res, responses))
  }
}

function serve(
  hit: LookupResult | undefined,
  key: string,
  method: string,
  headers: IncomingHttpHeaders,
  res: ServerResponse,
  responses: ResponseCache,
): boolean {
  if (!hit || !hit.fresh || !hit.stored.public || hit.stored.private) return false
  const answer = rawAnswerFromStored(
    hit.stored,
    hit.entry.etag,
    hit.entry.createdAt,
    { method, headers },
    Date.now(),
    hit.source,
  )
  if (answer.status === 412) return false
  res.writeHead(answer.status, answer.rawHeaders as string[])
  res.end(answer.body)
  responses.recordFastLaneHit(key, answer.status)
  return true
}
