/**
 * The fast lane: answer public stored responses at the Node server's `'request'` handler, before
 * any framework routing or hooks run. Everything it cannot answer falls through unchanged.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { negotiateFormat } from './negotiation.js'
import { normalizePath, normalizeUrl } from './normalize-url.js'
import type { ResponseCache } from './response-cache.js'
import { answerFromStored } from './stored-response.js'
import { varyKey } from './vary.js'

/** Answers a request and resolves `true`, or resolves `false` without touching the response. */
export type FastLaneHandler = (req: IncomingMessage, res: ServerResponse) => Promise<boolean>

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
    if (method !== 'GET' && method !== 'HEAD') return NO
    const headers = req.headers
    if (headers.authorization !== undefined || headers.cookie !== undefined) return NO
    const url = req.url
    if (url === undefined) return NO
    const queryAt = url.indexOf('?')
    let path: string | undefined = queryAt === -1 ? url : url.slice(0, queryAt)
    // Without '%' the raw path is already in normal form.
    if (path.includes('%')) path = normalizePath(path)
    const route = path === undefined ? undefined : responses.routeFor(path)
    if (!route) return NO
    const normalized = normalizeUrl(url, route.query, { staticFiles: route.staticFiles })
    if (!normalized.ok) return NO
    const key = responses.keyFor({
      method: 'GET',
      url: normalized.url,
      vary: route.vary.length === 0 ? '' : varyKey(headers, route.vary),
      format: route.negotiate ? negotiateFormat(headers.accept) : 'json',
    })
    return responses.lookup(key).then((hit) => {
      if (!hit || !hit.fresh || !hit.stored.public || hit.stored.private) return false
      const answer = answerFromStored(
        hit.stored,
        hit.entry.etag,
        hit.entry.createdAt,
        { method, headers },
        Date.now(),
        hit.source,
      )
      if (answer.status === 412) return false
      const raw = answer.rawHeaders.slice()
      if (answer.cacheControl) raw.push('cache-control', answer.cacheControl)
      if (answer.xCache) raw.push('x-cache', answer.xCache)
      res.writeHead(answer.status, raw)
      res.end(answer.body)
      responses.recordFastLaneHit(key, answer.status)
      return true
    })
  }
}

const NO: Promise<boolean> = Promise.resolve(false)
