import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'

import {
  beginRequestContext,
  currentRequestContext,
  endRequestContext,
  setRequestLiveness,
  RequestContext,
  runSyncWithRequestContext,
  runWithRequestContext,
} from '../../profiling/request-context.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** Hotpath per-request diagnostics (timings, DB work); set by the profiling plugins. */
    hotpathContext: RequestContext | null
  }
  interface FastifyInstance {
    /** @internal shared hooks of the Hotpath diagnostics plugins. */
    hotpathDiagnostics: DiagnosticsHooks
  }
}

/** Route label for requests that matched no route, so 404 scans do not explode label cardinality. */
export const UNMATCHED_ROUTE = '(unmatched)'

type Listener = (request: FastifyRequest, reply: FastifyReply, context: RequestContext) => void

/**
 * The hooks the Hotpath diagnostics plugins share. Every Fastify hook costs each request a call
 * through the hook runner, so the plugins register listeners here and one hook per phase
 * dispatches to them.
 */
export interface DiagnosticsHooks {
  /** Run in `onSend`, in registration order; may set headers. */
  readonly onSend: Listener[]
  /** Run in `onResponse`. */
  readonly onResponse: Listener[]
  /** Make the context current (AsyncLocalStorage) for the whole request; idempotent. */
  useAsyncContext(): void
  /**
   * Attribute channel events published synchronously in the handler (up to its first `await`, e.g.
   * an L1 cache hit) to the request, without AsyncLocalStorage; idempotent.
   */
  useSyncContext(): void
  /** Count same-shape queries per request (N+1 detector); idempotent. */
  trackQueryShapes(): void
}

let routeContextKey: symbol | null | undefined

/**
 * The route pattern of a request. `request.routeOptions` builds a 12-field object on every access,
 * so the pattern is read from Fastify's route context when it can be found, once per process.
 */
export function routePattern(request: FastifyRequest): string {
  if (routeContextKey === undefined) {
    routeContextKey =
      Object.getOwnPropertySymbols(request).find((key) => key.description === 'fastify.context') ?? null
  }
  if (routeContextKey !== null) {
    const context = (request as unknown as Record<symbol, { config?: { url?: unknown } } | undefined>)[
      routeContextKey
    ]
    const url = context?.config?.url
    return typeof url === 'string' ? url : UNMATCHED_ROUTE
  }
  return request.routeOptions.url ?? UNMATCHED_ROUTE
}

/**
 * Give every request a {@link RequestContext} (`request.hotpathContext`) and return the shared
 * hooks. Idempotent across the Hotpath plugins registered on one instance.
 */
export function useRequestContext(fastify: FastifyInstance): DiagnosticsHooks {
  if (fastify.hasDecorator('hotpathDiagnostics')) return fastify.hotpathDiagnostics
  let asyncContext = false
  let trackShapes = false
  let syncContext = false
  const onSend: Listener[] = []
  const onResponse: Listener[] = []

  fastify.decorateRequest('hotpathContext', null)
  fastify.addHook('onRequest', (request, _reply, done) => {
    const context = new RequestContext(request.method, routePattern(request))
    context.owner = request
    context.tracksQueryShapes = trackShapes
    request.hotpathContext = context
    if (asyncContext) runWithRequestContext(context, done)
    else {
      beginRequestContext(context)
      done()
    }
  })
  fastify.addHook('onSend', (request, reply, payload, done) => {
    const context = request.hotpathContext
    if (context !== null) for (const listener of onSend) listener(request, reply, context)
    done(null, payload)
  })
  fastify.addHook('onResponse', (request, reply, done) => {
    const context = request.hotpathContext
    if (context !== null) {
      endRequestContext(context)
      for (const listener of onResponse) listener(request, reply, context)
    }
    done()
  })
  // No onRequestAbort hook: Fastify would add a 'close' listener to every request for it, which
  // costs more than the rest of the diagnostics together. An aborted request's context is ended
  // when a reader next looks at the in-flight set (its socket is destroyed by then).
  setRequestLiveness(isRequestOpen)

  const hooks: DiagnosticsHooks = {
    onSend,
    onResponse,
    useAsyncContext() {
      if (asyncContext) return
      asyncContext = true
      // Body parsing runs in stream callbacks outside the store; enter it again before validation.
      fastify.addHook('preValidation', (request, _reply, done) => {
        const context = request.hotpathContext
        // Without a body nothing ran outside the store since onRequest: skip the lookup.
        if (context === null || request.body === undefined || currentRequestContext() === context) done()
        else runWithRequestContext(context, done)
      })
    },
    useSyncContext() {
      if (syncContext) return
      syncContext = true
      // Fastify calls the route handler from the last preHandler's `done`, synchronously.
      fastify.addHook('preHandler', (request, _reply, done) => {
        const context = request.hotpathContext
        if (context === null || asyncContext) done()
        else runSyncWithRequestContext(context, done)
      })
    },
    trackQueryShapes() {
      trackShapes = true
    },
  }
  fastify.decorate('hotpathDiagnostics', hooks)
  return hooks
}

/**
 * Whether a Fastify request (a context's owner) is still open. An in-flight request keeps its
 * socket; an aborted one's socket is destroyed (the request stream itself may be ended and
 * destroyed early by Node once its body is read, so it is not the test).
 */
function isRequestOpen(owner: unknown): boolean {
  const raw = (owner as { raw?: { socket?: { destroyed?: boolean } | null } } | undefined)?.raw
  if (raw === undefined) return true
  const socket = raw.socket
  return socket !== null && socket !== undefined && socket.destroyed !== true
}
