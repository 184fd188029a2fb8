import type { FastifyInstance, FastifyRequest } from 'fastify'

import { endRequestContext, RequestContext, runWithRequestContext } from '../../profiling/request-context.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** Hotpath per-request diagnostics (timings, DB work); set by the profiling plugins. */
    hotpathContext: RequestContext | null
  }
}

/** Route label for requests that matched no route, so 404 scans do not explode label cardinality. */
export const UNMATCHED_ROUTE = '(unmatched)'

/**
 * Give every request a {@link RequestContext} in AsyncLocalStorage. Idempotent: every Hotpath plugin
 * that needs the context calls it and the hooks are added once.
 */
export function useRequestContext(fastify: FastifyInstance): void {
  if (fastify.hasRequestDecorator('hotpathContext')) return
  fastify.decorateRequest('hotpathContext', null)
  fastify.addHook('onRequest', (request, _reply, done) => {
    const context = new RequestContext(request.method, request.routeOptions.url ?? UNMATCHED_ROUTE)
    context.owner = request
    request.hotpathContext = context
    runWithRequestContext(context, done)
  })
  // Body parsing runs in stream callbacks outside the store; enter it again before the handler.
  fastify.addHook('preValidation', (request, _reply, done) => {
    const context = request.hotpathContext
    if (context === null) done()
    else runWithRequestContext(context, done)
  })
  const end = (request: FastifyRequest, _reply: unknown, done: () => void) => {
    if (request.hotpathContext !== null) endRequestContext(request.hotpathContext)
    done()
  }
  fastify.addHook('onResponse', end)
  fastify.addHook('onRequestAbort', (request, done) => end(request, undefined, done))
}
