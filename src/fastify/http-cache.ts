/**
 * Fastify adapter of `src/http/`: RFC 9110/9111 validators and policies per route, the server-side
 * response cache, unsafe-method invalidation, optimistic concurrency and the fast lane.
 */
import { randomBytes } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import zlib from 'node:zlib'
import type {
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  onRequestHookHandler,
  onSendHookHandler,
  preHandlerHookHandler,
  RouteOptions,
} from 'fastify'
import fp from 'fastify-plugin'
import { Packr } from 'msgpackr'
import type { Cache, CacheEntry } from '../cache/types.js'
import type { HotpathError } from '../errors.js'
import {
  HttpMalformedUrlError,
  HttpPreconditionFailedError,
  HttpPreconditionRequiredError,
  HttpUnknownQueryParamError,
  InvalidOptionError,
} from '../errors.js'
import type { Duration } from '../util/duration.js'
import { formatCacheControl, isStorable, resolveCacheControlPolicy } from '../http/cache-control.js'
import type { CacheControlPolicy, ResolvedCacheControlPolicy } from '../http/cache-control.js'
import { DEFAULT_COMPRESSION_THRESHOLD, isCompressible } from '../http/compression.js'
import { etagForCoding, parseETag } from '../http/etag.js'
import type { ContentCoding } from '../http/etag.js'
import { createFastLane } from '../http/fast-lane.js'
import { formatHttpDate, parseHttpDate } from '../http/http-date.js'
import { MSGPACK_CONTENT_TYPE, negotiateEncoding, negotiateFormat } from '../http/negotiation.js'
import type { ResponseFormat } from '../http/negotiation.js'
import { normalizePath, normalizeUrl } from '../http/normalize-url.js'
import type { QueryRules } from '../http/normalize-url.js'
import { evaluatePreconditions, isConditional, selectCodingForRevalidation } from '../http/preconditions.js'
import {
  durationOr,
  emptyResponseCacheStats,
  resolveResponseCacheOptions,
  ResponseCache,
} from '../http/response-cache.js'
import type {
  LookupResult,
  ResolvedResponseCacheOptions,
  ResponseCacheOptions,
  ResponseCacheStats,
  RouteKeyInfo,
} from '../http/response-cache.js'
import { cheaperOf, ownedBytes, ownedUtf8 } from '../http/send-body.js'
import { answerFromStored, hashETag } from '../http/stored-response.js'
import type { StoredResponse } from '../http/stored-response.js'
import { mergeVary, parseVary, varyKey } from '../http/vary.js'

/** Options of the `httpCache` plugin. */
export interface HttpCacheOptions extends ResponseCacheOptions {
  /**
   * Where responses are stored (a Hotpath `Cache`, memory or memory + Redis). Without one, routes
   * still get policies, validators, 304/412 handling and compression, but nothing is stored.
   * @default undefined
   */
  cache?: Cache
  /**
   * Who the request is for, to key private responses. Private requests (a private policy, or
   * `Authorization` / `Cookie` on an `auto` route) are not stored when this returns `undefined`.
   * @default undefined (private responses are never stored)
   */
  getUser?: (request: FastifyRequest) => string | undefined | Promise<string | undefined>
  /** Answer public stored responses before Fastify routing (see `createFastLane`). @default false */
  fastLane?: boolean
  /** Default for routes that do not say what to do with undeclared query parameters. @default 'reject' */
  unknownQuery?: 'reject' | 'ignore'
  /**
   * Query parameters every route accepts without declaring them, left out of keys (another
   * plugin's switch, such as `?profile=1`); with `unknownQuery: 'reject'` they would be a 400.
   * @default []
   */
  ignoredQuery?: readonly string[]
  /** A successful POST/PUT/PATCH/DELETE purges the stored responses of its target path. @default true */
  invalidateOnUnsafe?: boolean
  /** Send `X-Cache: hit-l1 | hit-l2 | stale | miss` on routes with a cache. @default true */
  xCache?: boolean
}

/** Per-route configuration: `config: { httpCache: { ... } }`. */
export interface HttpCacheRouteOptions {
  /** The Cache-Control policy. @default undefined (no Cache-Control header; validators only) */
  policy?: CacheControlPolicy
  /**
   * Store responses server-side. Only 200/203/204 responses without `Set-Cookie` are stored: a 404
   * is never stored (nor turned into a 304); cache "not found" in the data layer instead, with
   * `getOrSet(..., { negativeTtl })`, so a 404 stays cheap without a stored error page.
   * @default true on GET routes when the plugin has a cache and the policy exists, has a lifetime
   * (`ttl`, `sMaxAge` or `maxAge`) and is not `no-store`
   */
  store?: boolean
  /** How long a stored response stays fresh server-side. @default policy.sMaxAge ?? policy.maxAge */
  ttl?: Duration
  /** How long a stale stored response may be served while it refreshes. @default policy.staleWhileRevalidate ?? 0 */
  grace?: Duration
  /** Request headers the response varies on (part of the key and of `Vary`). @default [] */
  vary?: readonly string[]
  /** Tags of stored responses (sent as `Surrogate-Key`, purged with `invalidateTags`). @default [] */
  tags?: readonly string[] | ((request: FastifyRequest) => readonly string[])
  /**
   * Query parameters in the key; `unknown` says whether others are rejected with 400 or ignored.
   * @default { allow: <properties of schema.querystring> or [], unknown: plugin `unknownQuery` }
   */
  query?: { allow?: readonly string[]; unknown?: 'reject' | 'ignore' }
  /**
   * `true`: always private (keyed by user). `false`: public even for requests with credentials.
   * `'auto'`: private when the policy says so or the request carries `Authorization` / `Cookie`.
   * @default 'auto'
   */
  private?: boolean | 'auto'
  /** The route serves files, so paths such as `/x.css` are legitimate. @default false */
  staticFiles?: boolean
  /** Content negotiation: `Accept: application/msgpack` gets msgpack (and `Vary: Accept`). @default false */
  negotiate?: boolean
  /**
   * The current entity's ETag (quoted) or version (number or unquoted string, quoted for you), or
   * `undefined` when the entity does not exist. Used before the handler runs: conditional GETs
   * answer 304 without running it, unsafe methods check `If-Match` (412 / 428).
   * @default undefined (GET falls back to a body hash)
   */
  etag?: (
    request: FastifyRequest,
  ) => string | number | undefined | null | Promise<string | number | undefined | null>
  /** The current entity's last modification time. @default undefined */
  lastModified?: (
    request: FastifyRequest,
  ) => Date | number | undefined | null | Promise<Date | number | undefined | null>
  /** Unsafe methods without `If-Match` / `If-Unmodified-Since` get 428 Precondition Required. @default false */
  requirePrecondition?: boolean
}

/** What the plugin decorates the instance with as `fastify.httpCache`. */
export interface HttpCacheApi {
  /** The response cache, or undefined when the plugin has no `cache`. */
  readonly responses: ResponseCache | undefined
  /** Purge stored responses carrying any of these tags (both tiers). */
  invalidateTags(tags: readonly string[]): Promise<void>
  /** Purge every stored response of these paths. */
  invalidatePaths(paths: readonly string[]): Promise<void>
  /** Counters (hits, fast-lane hits, misses, 304s, stores…). */
  stats(): Readonly<ResponseCacheStats>
}

declare module 'fastify' {
  interface FastifyContextConfig {
    httpCache?: HttpCacheRouteOptions
  }
  interface FastifyInstance {
    httpCache: HttpCacheApi
  }
}

interface ResolvedRoute {
  readonly policy: ResolvedCacheControlPolicy | undefined
  readonly store: boolean
  readonly ttl: number
  readonly grace: number
  readonly vary: readonly string[]
  readonly tags: readonly string[] | ((request: FastifyRequest) => readonly string[])
  readonly query: QueryRules
  readonly keyInfo: RouteKeyInfo
  readonly private: boolean | 'auto'
  readonly staticFiles: boolean
  readonly negotiate: boolean
  readonly etag: HttpCacheRouteOptions['etag']
  readonly lastModified: HttpCacheRouteOptions['lastModified']
  readonly requirePrecondition: boolean
}

type EtagResult = ReturnType<NonNullable<HttpCacheRouteOptions['etag']>>
type LastModifiedResult = ReturnType<NonNullable<HttpCacheRouteOptions['lastModified']>>

interface RequestState {
  deception: boolean
  hit: boolean
  done: boolean
  store: boolean
  key: string | undefined
  path: string | undefined
  private: boolean
  format: ResponseFormat
  entityEtag: string | undefined
  lastModified: number | undefined
  /** Epoch ms at `onRequest`: a stored response is dated from it (before its data was read). */
  startedAt: number
}

const SAFE = new Set(['GET', 'HEAD'])
const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])
const ROUTE_KEYS = new Set([
  'policy',
  'store',
  'ttl',
  'grace',
  'vary',
  'tags',
  'query',
  'private',
  'staticFiles',
  'negotiate',
  'etag',
  'lastModified',
  'requirePrecondition',
])
const PLUGIN_KEYS = new Set([
  'cache',
  'getUser',
  'fastLane',
  'unknownQuery',
  'ignoredQuery',
  'invalidateOnUnsafe',
  'xCache',
  'namespace',
  'compression',
  'maxBodyBytes',
  'unkeyedHeaders',
  'maxFastLanePaths',
])
// Response headers that are recomputed on every answer and never stored.
const VOLATILE_HEADERS = new Set([
  'etag',
  'cache-control',
  'vary',
  'date',
  'age',
  'content-length',
  'content-encoding',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'set-cookie',
  'x-cache',
  'surrogate-key',
  'server-timing',
  'x-request-id',
  // Names one request's CPU profile (an admin's): never replayed to whoever hits the entry next.
  'x-hotpath-profile-id',
])
const REFRESH_HEADER = 'x-hotpath-refresh'
/** Brotli quality for responses compressed per request (uncached routes). */
const ON_THE_FLY_BROTLI_QUALITY = 4
const STORABLE_STATUS = new Set([200, 203, 204])
const JSON_TYPE = 'application/json; charset=utf-8'

const packr = new Packr({ useRecords: false })
const packMsgpack = (payload: unknown): string => packr.pack(payload) as unknown as string

function typeError(option: string, value: unknown, expected: string): TypeError {
  return new TypeError(`httpCache: ${new InvalidOptionError(option, value, expected).message}`)
}

// Options are validated by the framework-free layer (InvalidOptionError); Fastify plugins throw TypeError.
function asTypeError(error: unknown): unknown {
  return error instanceof InvalidOptionError
    ? new TypeError(`httpCache: ${error.message}`, { cause: error })
    : error
}

async function httpCachePlugin(fastify: FastifyInstance, options: HttpCacheOptions): Promise<void> {
  for (const key of Object.keys(options)) {
    if (!PLUGIN_KEYS.has(key))
      throw typeError(key, (options as Record<string, unknown>)[key], `one of ${[...PLUGIN_KEYS].join(', ')}`)
  }
  const cache = options.cache
  if (
    cache !== undefined &&
    (cache === null || typeof cache.getEntry !== 'function' || typeof cache.namespace !== 'function')
  ) {
    throw typeError('cache', cache, 'a Hotpath Cache (createCache())')
  }
  if (options.getUser !== undefined && typeof options.getUser !== 'function') {
    throw typeError('getUser', options.getUser, 'a function (request) => string | undefined')
  }
  const unknownQuery = options.unknownQuery ?? 'reject'
  if (unknownQuery !== 'reject' && unknownQuery !== 'ignore')
    throw typeError('unknownQuery', unknownQuery, '"reject" or "ignore"')
  const ignoredQuery = options.ignoredQuery ?? []
  if (!Array.isArray(ignoredQuery) || ignoredQuery.some((name) => typeof name !== 'string'))
    throw typeError('ignoredQuery', options.ignoredQuery, 'an array of parameter names')
  for (const flag of ['fastLane', 'invalidateOnUnsafe', 'xCache'] as const) {
    if (options[flag] !== undefined && typeof options[flag] !== 'boolean')
      throw typeError(flag, options[flag], 'a boolean')
  }
  if (options.fastLane && !cache)
    throw typeError('fastLane', true, 'a `cache` option as well (the fast lane serves stored responses)')

  let responses: ResponseCache | undefined
  let resolved: ResolvedResponseCacheOptions
  try {
    resolved = resolveResponseCacheOptions(options)
    responses = cache ? new ResponseCache(cache, options) : undefined
  } catch (error) {
    throw asTypeError(error)
  }
  responses?.onError((error, operation) =>
    fastify.log.warn({ err: error, operation }, 'httpCache: cache operation failed'),
  )
  const getUser = options.getUser
  const xCache = options.xCache ?? true
  const invalidateOnUnsafe = options.invalidateOnUnsafe ?? true
  const compression = resolved.compression
  const threshold =
    compression === false
      ? DEFAULT_COMPRESSION_THRESHOLD
      : (compression.threshold ?? DEFAULT_COMPRESSION_THRESHOLD)
  const refreshSecret = randomBytes(16).toString('base64url')
  const refreshing = new Set<string>()
  // Per-request state lives in a request decorator: cheaper than a WeakMap entry on every request.
  const stateKey = Symbol('hotpath.httpCache.state')
  fastify.decorateRequest(stateKey, null)
  const states = {
    set(request: FastifyRequest, state: RequestState): void {
      ;(request as unknown as Record<symbol, RequestState | null>)[stateKey] = state
    },
    get(request: FastifyRequest): RequestState | undefined {
      return (request as unknown as Record<symbol, RequestState | null>)[stateKey] ?? undefined
    },
  }

  const api: HttpCacheApi = {
    responses,
    invalidateTags: async (tags) => {
      await responses?.invalidateTags(tags)
    },
    invalidatePaths: async (paths) => {
      const normalized = paths.map((p) => normalizePath(p)).filter((p): p is string => p !== undefined)
      await responses?.invalidatePaths(normalized)
    },
    stats: () => responses?.stats() ?? emptyResponseCacheStats(),
  }
  fastify.decorate('httpCache', api)

  if (options.fastLane && responses) installFastLane(fastify, responses)

  function resolveRoute(config: HttpCacheRouteOptions, route: RouteOptions): ResolvedRoute {
    const where = `config.httpCache of ${String(route.method)} ${route.url}`
    if (config === null || typeof config !== 'object') throw typeError(where, config, 'an object')
    for (const key of Object.keys(config)) {
      if (!ROUTE_KEYS.has(key))
        throw typeError(
          `${where}.${key}`,
          (config as Record<string, unknown>)[key],
          `one of ${[...ROUTE_KEYS].join(', ')}`,
        )
    }
    try {
      const policy =
        config.policy === undefined ? undefined : resolveCacheControlPolicy(config.policy, `${where}.policy`)
      const ttl = durationOr(config.ttl, policy?.sMaxAge ?? policy?.maxAge ?? 0, `${where}.ttl`)
      const grace = durationOr(config.grace, policy?.staleWhileRevalidate ?? 0, `${where}.grace`)
      const methods = Array.isArray(route.method) ? route.method : [route.method]
      const canStore =
        responses !== undefined &&
        policy !== undefined &&
        (methods.includes('GET') || methods.includes('HEAD')) &&
        ttl > 0 &&
        !policy.noStore
      if (config.store === true && !canStore) {
        throw typeError(
          `${where}.store`,
          true,
          'a plugin `cache`, a GET route, a policy, a positive ttl (or policy maxAge) and no noStore',
        )
      }
      for (const name of ['etag', 'lastModified', 'tags'] as const) {
        const v = config[name]
        if (v !== undefined && typeof v !== 'function' && !(name === 'tags' && Array.isArray(v))) {
          throw typeError(
            `${where}.${name}`,
            v,
            name === 'tags' ? 'an array of strings or a function' : 'a function (request) => value',
          )
        }
      }
      if (
        config.vary !== undefined &&
        (!Array.isArray(config.vary) || config.vary.some((v) => typeof v !== 'string'))
      ) {
        throw typeError(`${where}.vary`, config.vary, 'an array of request header names')
      }
      const vary = parseVary(config.vary ?? [])
      if (vary.includes('*'))
        throw typeError(`${where}.vary`, config.vary, 'header names (Vary: * cannot be cached)')
      const schemaQuery = (route.schema?.querystring as { properties?: Record<string, unknown> } | undefined)
        ?.properties
      const allow = config.query?.allow ?? (schemaQuery ? Object.keys(schemaQuery) : [])
      const unknown = config.query?.unknown ?? unknownQuery
      if (!Array.isArray(allow) || allow.some((a) => typeof a !== 'string')) {
        throw typeError(`${where}.query.allow`, allow, 'an array of parameter names')
      }
      if (unknown !== 'reject' && unknown !== 'ignore')
        throw typeError(`${where}.query.unknown`, unknown, '"reject" or "ignore"')
      const priv = config.private ?? 'auto'
      if (priv !== true && priv !== false && priv !== 'auto')
        throw typeError(`${where}.private`, priv, 'true, false or "auto"')
      const query = Object.freeze({
        allow: Object.freeze([...allow]),
        unknown,
        ...(ignoredQuery.length > 0 ? { ignore: Object.freeze([...ignoredQuery]) } : {}),
      })
      const staticFiles = config.staticFiles === true
      const negotiate = config.negotiate === true
      return Object.freeze({
        policy,
        store: config.store ?? canStore,
        ttl,
        grace,
        vary,
        tags: typeof config.tags === 'function' ? config.tags : Object.freeze([...(config.tags ?? [])]),
        query,
        keyInfo: Object.freeze({ query, vary, negotiate, staticFiles }),
        private: priv,
        staticFiles,
        negotiate,
        etag: config.etag,
        lastModified: config.lastModified,
        requirePrecondition: config.requirePrecondition === true,
      })
    } catch (error) {
      throw asTypeError(error)
    }
  }

  fastify.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method]
    const config = route.config?.httpCache
    if (config !== undefined) {
      const resolved = resolveRoute(config, route)
      const hooks = routeHooks(resolved)
      route.onRequest = [...toArray(route.onRequest), hooks.onRequest]
      // The preHandler only has work with negotiation, entity validators or required preconditions.
      if (resolved.negotiate || resolved.etag || resolved.lastModified || resolved.requirePrecondition) {
        route.preHandler = [...toArray(route.preHandler), hooks.preHandler]
      }
      route.onSend = insertBeforeHeadHandler(toArray(route.onSend), hooks.onSend)
    }
    if (invalidateOnUnsafe && responses && methods.some((m) => UNSAFE.has(m))) {
      route.onSend = [...toArray(route.onSend), invalidateTarget]
    }
  })

  function routeHooks(route: ResolvedRoute): {
    onRequest: onRequestHookHandler
    preHandler: preHandlerHookHandler
    onSend: onSendHookHandler
  } {
    // Cache-Control depends on the route and on whether the response is private: format it once.
    const publicCacheControl = route.policy ? formatCacheControl(route.policy, { forcePrivate: false }) : ''
    const privateCacheControl = route.policy ? formatCacheControl(route.policy, { forcePrivate: true }) : ''
    // Callback style: a hit is one promise (the lookup) from request to reply.
    const onRequest: onRequestHookHandler = function (request, reply, done) {
      const state: RequestState = {
        deception: false,
        hit: false,
        done: false,
        store: false,
        key: undefined,
        path: undefined,
        private: false,
        format: 'json',
        entityEtag: undefined,
        lastModified: undefined,
        startedAt: Date.now(),
      }
      states.set(request, state)
      const headers = request.headers
      const normalized = normalizeUrl(request.url, route.query, { staticFiles: route.staticFiles })
      if (!normalized.ok) {
        if (normalized.reason === 'unknown-query-param') {
          state.done = true
          sendError(reply, new HttpUnknownQueryParamError(normalized.detail, route.query.allow))
          return
        }
        if (normalized.reason === 'malformed') {
          state.done = true
          sendError(reply, new HttpMalformedUrlError(request.url, normalized.detail))
          return
        }
        state.deception = true
        if (responses) responses.counters.bypasses++
        done()
        return
      }
      state.path = normalized.path
      const credentials = headers.authorization !== undefined || headers.cookie !== undefined
      state.private =
        route.private === true ||
        (route.private === 'auto' && (credentials || route.policy?.scope === 'private'))
      if (route.negotiate) state.format = negotiateFormat(headers.accept)
      if (
        !route.store ||
        !responses ||
        !SAFE.has(request.method) ||
        (route.policy && !isStorable(route.policy, state.private))
      ) {
        done()
        return
      }
      if (!state.private) {
        lookup(request, reply, done, state, responses, normalized.url, normalized.path, undefined)
        return
      }
      Promise.resolve(getUser?.(request))
        .then((user) => {
          if (user === undefined) {
            responses.counters.bypasses++
            done()
            return
          }
          lookup(request, reply, done, state, responses, normalized.url, normalized.path, user)
        })
        .catch((error: unknown) => done(error as Error))
    }

    function lookup(
      request: FastifyRequest,
      reply: FastifyReply,
      done: (error?: Error) => void,
      state: RequestState,
      responses: ResponseCache,
      url: string,
      path: string,
      user: string | undefined,
    ): void {
      const headers = request.headers
      const key = responses.keyFor({
        method: 'GET',
        url,
        vary: route.vary.length === 0 ? '' : varyKey(headers, route.vary),
        format: state.format,
        user,
      })
      state.key = key
      if (headers[REFRESH_HEADER] === refreshSecret) {
        state.store = !responses.hasUnkeyedHeader(headers)
        done()
        return
      }
      // An L1 hit answers synchronously, inside this hook: no promise between request and reply.
      const peeked = responses.peek(key)
      if (peeked) {
        answerHit(request, reply, done, state, responses, key, path, peeked)
        return
      }
      responses.lookup(key).then((hit) => {
        try {
          answerHit(request, reply, done, state, responses, key, path, hit)
        } catch (error) {
          done(error as Error)
        }
      }, done)
    }

    function answerHit(
      request: FastifyRequest,
      reply: FastifyReply,
      done: (error?: Error) => void,
      state: RequestState,
      responses: ResponseCache,
      key: string,
      path: string,
      hit: LookupResult | undefined,
    ): void {
      const headers = request.headers
      if (!hit) {
        responses.counters.misses++
        const unkeyed = responses.unkeyedHeaderOf(headers)
        if (unkeyed !== undefined) warnUnkeyed(unkeyed)
        state.store = request.method === 'GET' && unkeyed === undefined
        done()
        return
      }
      state.hit = true
      if (hit.fresh) responses.counters.hits++
      else {
        responses.counters.staleHits++
        scheduleRefresh(request, key)
      }
      // Remembered even without `fastLane`, for a createFastLane() installed in a serverFactory.
      if (hit.stored.public && !state.private) responses.rememberRoute(path, route.keyInfo)
      const answer = answerFromStored(
        hit.stored,
        hit.entry.etag,
        hit.entry.createdAt,
        { method: request.method, headers },
        Date.now(),
        xCache ? (hit.fresh ? hit.source : 'stale') : undefined,
      )
      if (answer.status === 412) {
        sendError(reply, new HttpPreconditionFailedError('If-Match', headers['if-match']))
        return
      }
      if (answer.status === 304) responses.counters.notModified++
      reply.code(answer.status).headers(answer.headers)
      if (answer.cacheControl) reply.header('cache-control', answer.cacheControl)
      if (answer.xCache) reply.header('x-cache', answer.xCache)
      reply.send(answer.body)
    }

    // Callback style: validators that answer synchronously (an in-memory read) cost no promise.
    const preHandler: preHandlerHookHandler = function (request, reply, done) {
      const state = states.get(request)
      if (!state || state.hit || state.done) {
        done()
        return
      }
      if (state.format === 'msgpack') reply.serializer(packMsgpack).type(MSGPACK_CONTENT_TYPE)
      const headers = request.headers
      if (
        route.requirePrecondition &&
        !SAFE.has(request.method) &&
        headers['if-match'] === undefined &&
        headers['if-unmodified-since'] === undefined
      ) {
        state.done = true
        sendError(reply, new HttpPreconditionRequiredError(request.method))
        return
      }
      if (!route.etag && !route.lastModified) {
        done()
        return
      }
      let etag: EtagResult
      let lastModified: LastModifiedResult
      try {
        etag = route.etag ? route.etag(request) : undefined
        // As documented, `lastModified` runs once the ETag is known.
        lastModified = isThenable(etag) || !route.lastModified ? undefined : route.lastModified(request)
      } catch (error) {
        done(error as Error)
        return
      }
      if (!isThenable(etag) && !isThenable(lastModified)) {
        checkPreconditions(request, reply, done, state, toETag(etag), toEpoch(lastModified))
        return
      }
      awaitValidators(request, etag, lastModified).then(
        ([etag, lastModified]) => {
          try {
            checkPreconditions(request, reply, done, state, etag, lastModified)
          } catch (error) {
            done(error as Error)
          }
        },
        (error: unknown) => done(error as Error),
      )
    }

    async function awaitValidators(
      request: FastifyRequest,
      etag: EtagResult,
      lastModified: LastModifiedResult,
    ): Promise<[string | undefined, number | undefined]> {
      const tag = toETag(await etag)
      if (isThenable(etag) && route.lastModified) return [tag, toEpoch(await route.lastModified(request))]
      return [tag, toEpoch(await lastModified)]
    }

    function checkPreconditions(
      request: FastifyRequest,
      reply: FastifyReply,
      done: (error?: Error) => void,
      state: RequestState,
      etag: string | undefined,
      lastModified: number | undefined,
    ): void {
      const headers = request.headers
      const method = request.method
      state.entityEtag = etag
      state.lastModified = lastModified
      const exists = etag !== undefined || lastModified !== undefined
      // A GET for a missing entity will be a 404, and a 404 is never a 304: leave it to the handler.
      if ((!exists && SAFE.has(method)) || !isConditional(headers)) {
        done()
        return
      }
      const all =
        etag === undefined ? undefined : [etag, etagForCoding(etag, 'gzip'), etagForCoding(etag, 'br')]
      const result = evaluatePreconditions(headers, { etag: all, lastModified, exists }, method)
      if (result === 412) {
        state.done = true
        const header =
          headers['if-match'] !== undefined
            ? 'If-Match'
            : headers['if-none-match'] !== undefined
              ? 'If-None-Match'
              : 'If-Unmodified-Since'
        sendError(reply, new HttpPreconditionFailedError(header, headers[header.toLowerCase()]))
        return
      }
      if (result === 304) {
        state.done = true
        if (responses) responses.counters.notModified++
        const coding =
          etag === undefined
            ? 'identity'
            : selectCodingForRevalidation(
                headers['if-none-match'],
                etag,
                ['br', 'gzip', 'identity'],
                'identity',
              )
        if (etag !== undefined) reply.header('etag', etagForCoding(etag, coding))
        if (lastModified !== undefined) reply.header('last-modified', formatHttpDate(lastModified))
        if (route.policy)
          reply.header('cache-control', state.private ? privateCacheControl : publicCacheControl)
        const vary = responseVary(route, reply, true)
        if (vary) reply.header('vary', vary)
        reply.code(304).send()
        return
      }
      done()
    }

    // Callback style, so a hit (already answered in onRequest) costs no promise here, and neither
    // does a response that is not stored: only storing one waits for the cache.
    const onSend: onSendHookHandler = function (request, reply, payload, done) {
      const state = states.get(request)
      if (!state || state.hit || state.done) {
        done(null, payload)
        return
      }
      let result: unknown
      try {
        result = onSendMiss(request, reply, payload, state)
      } catch (error) {
        done(error as Error)
        return
      }
      if (result instanceof Promise) {
        result.then(
          (answer) => done(null, answer),
          (error: unknown) => done(error as Error),
        )
      } else done(null, result)
    }

    /** The payload to send, or a promise of it when the response is stored first. */
    function onSendMiss(
      request: FastifyRequest,
      reply: FastifyReply,
      payload: unknown,
      state: RequestState,
    ): unknown {
      const status = reply.statusCode
      if (state.deception) {
        reply.header('cache-control', 'no-store')
        return payload
      }
      if (status < 200 || status >= 300) {
        // Errors are never stored and never revalidated; keep downstream caches off them too.
        if (route.policy && !reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store')
        return payload
      }
      const setCookie = reply.hasHeader('set-cookie')
      const forcePrivate = state.private || setCookie
      if (route.policy && !reply.hasHeader('cache-control')) {
        reply.header('cache-control', forcePrivate ? privateCacheControl : publicCacheControl)
      }
      const contentType = headerString(reply.getHeader('content-type'))
      const compressible = compression !== false && isCompressible(contentType)
      const vary = responseVary(route, reply, compressible)
      if (vary) reply.header('vary', vary)
      const handlerEtag = headerString(reply.getHeader('etag'))
      const lastModified = parseHttpDate(headerString(reply.getHeader('last-modified'))) ?? state.lastModified
      if (lastModified !== undefined && !reply.hasHeader('last-modified')) {
        reply.header('last-modified', formatHttpDate(lastModified))
      }
      if (typeof payload !== 'string' && !Buffer.isBuffer(payload)) {
        // A stream: no body to hash. A weak tag from the entity version is still a valid validator.
        const etag = handlerEtag ?? state.entityEtag
        if (etag !== undefined && !handlerEtag) reply.header('etag', weaken(etag))
        if (xCache && state.key) reply.header('x-cache', 'miss')
        return payload
      }
      if (reply.hasHeader('content-encoding')) return payload
      const etag = (handlerEtag && parseETag(handlerEtag) ? handlerEtag : undefined) ?? state.entityEtag

      if (
        state.store &&
        state.key &&
        responses &&
        !setCookie &&
        STORABLE_STATUS.has(status) &&
        route.policy !== undefined
      ) {
        return storeMiss(request, reply, payload, state, state.key, responses, route.policy, {
          status,
          contentType,
          etag,
          lastModified,
          forcePrivate,
          vary,
          compressible,
        })
      }
      if (xCache && state.key) reply.header('x-cache', 'miss')
      const tags = typeof route.tags === 'function' ? route.tags(request) : route.tags
      if (tags.length > 0 && !reply.hasHeader('surrogate-key')) reply.header('surrogate-key', tags.join(' '))
      return validateUncached(request, reply, payload, etag, lastModified, compressible, status)
    }

    function storeMiss(
      request: FastifyRequest,
      reply: FastifyReply,
      payload: string | Buffer,
      state: RequestState,
      key: string,
      responses: ResponseCache,
      policy: ResolvedCacheControlPolicy,
      miss: {
        status: number
        contentType: string | undefined
        etag: string | undefined
        lastModified: number | undefined
        forcePrivate: boolean
        vary: string | undefined
        compressible: boolean
      },
    ): unknown {
      const { status, etag, lastModified, forcePrivate } = miss
      const tags = typeof route.tags === 'function' ? route.tags(request) : route.tags
      // Kept in the cache: bytes of its own, not a view pinning a slab of Node's pool.
      const body = typeof payload === 'string' ? ownedUtf8(payload) : ownedBytes(payload)
      const write = responses.write(key, {
        status,
        headers: storableHeaders(reply),
        body,
        contentType: miss.contentType,
        etag: etag !== undefined && !etag.startsWith('W/') ? etag : undefined,
        lastModified,
        policy,
        private: forcePrivate,
        public: !forcePrivate && policy.scope !== 'private',
        vary: miss.vary ?? '',
        tags,
        path: state.path ?? request.url,
        ttl: route.ttl,
        grace: route.grace,
        readAt: state.startedAt,
      })
      if (write && !write.awaitWrite) {
        // Memory only: the entry is in L1 already; answer from what is at hand, without a promise.
        if (write.stored.public && state.path) responses.rememberRoute(state.path, route.keyInfo)
        return answerMiss(request, reply, responses, write.stored, write.etag, write.createdAt, payload)
      }
      const stored = (entry: CacheEntry<StoredResponse> | undefined): unknown => {
        if (entry) {
          if (entry.value.public && state.path) responses.rememberRoute(state.path, route.keyInfo)
          return answerMiss(request, reply, responses, entry.value, entry.etag, entry.createdAt, payload)
        }
        if (xCache) reply.header('x-cache', 'miss')
        if (tags.length > 0 && !reply.hasHeader('surrogate-key'))
          reply.header('surrogate-key', tags.join(' '))
        return validateUncached(request, reply, body, etag, lastModified, miss.compressible, status)
      }
      return write ? write.written.then(stored) : stored(undefined)
    }

    /** Answer a stored miss exactly as a hit on its entry would be answered (but `X-Cache: miss`). */
    function answerMiss(
      request: FastifyRequest,
      reply: FastifyReply,
      responses: ResponseCache,
      stored: StoredResponse,
      etag: string,
      createdAt: number,
      payload: string | Buffer,
    ): unknown {
      const headers = request.headers
      const now = Date.now()
      if (
        stored.compress === undefined &&
        stored.gzip === undefined &&
        stored.br === undefined &&
        !isConditional(headers) &&
        now - createdAt < 1000
      ) {
        // The common miss (nothing to negotiate or evaluate), without building the entry's prepared
        // answers: most entries of a missing workload are never read again. The headers are those
        // `answerFromStored` renders; the stored ones are on the reply already.
        reply.header('etag', etag)
        if (stored.surrogateKey) reply.header('surrogate-key', stored.surrogateKey)
        reply.header('cache-control', stored.private ? privateCacheControl : publicCacheControl)
        if (xCache) reply.header('x-cache', 'miss')
        // The same bytes, in the form Node sends cheapest: an ASCII string goes out with the
        // headers in one chunk; a non-ASCII one costs more than the stored Buffer (send-body.ts).
        return typeof payload === 'string' ? cheaperOf(payload, stored.body) : payload
      }
      const answer = answerFromStored(
        stored,
        etag,
        createdAt,
        { method: request.method, headers },
        now,
        xCache ? 'miss' : undefined,
      )
      if (answer.status === 412) {
        reply.code(412).header('content-type', JSON_TYPE)
        return errorBody(new HttpPreconditionFailedError('If-Match', headers['if-match']))
      }
      if (answer.status === 304) {
        responses.counters.notModified++
        reply.removeHeader('content-type')
      }
      reply.code(answer.status).headers(answer.headers)
      if (answer.cacheControl) reply.header('cache-control', answer.cacheControl)
      if (answer.xCache) reply.header('x-cache', answer.xCache)
      return answer.status === 304 ? null : answer.body
    }

    return { onRequest, preHandler, onSend }
  }

  function validateUncached(
    request: FastifyRequest,
    reply: FastifyReply,
    payload: string | Buffer,
    knownEtag: string | undefined,
    lastModified: number | undefined,
    compressible: boolean,
    status: number,
  ): Buffer | null | string {
    const headers = request.headers
    // The body is only needed as bytes to hash it or to compress it. (No helper closure here: tsx
    // names each one it creates, which costs a defineProperty per request.)
    let body = typeof payload === 'string' ? undefined : payload
    let baseEtag = knownEtag
    if (baseEtag === undefined) {
      body ??= Buffer.from(payload)
      baseEtag = hashETag(body)
    }
    let coding: ContentCoding = 'identity'
    if (
      compressible &&
      headers['accept-encoding'] !== undefined &&
      (body === undefined ? Buffer.byteLength(payload) : body.length) >= threshold
    )
      coding = negotiateEncoding(headers['accept-encoding'], ['br', 'gzip', 'identity'])
    if (headers['if-none-match'] !== undefined && coding !== 'identity') {
      coding = selectCodingForRevalidation(
        headers['if-none-match'],
        baseEtag,
        ['br', 'gzip', 'identity'],
        coding,
      )
    }
    // An unsafe method has already acted by now: its preconditions belong before the handler (`etag` option).
    if (status >= 200 && status < 300 && SAFE.has(request.method) && isConditional(headers)) {
      const all = [baseEtag, etagForCoding(baseEtag, 'gzip'), etagForCoding(baseEtag, 'br')]
      const result = evaluatePreconditions(
        headers,
        { etag: headers['if-match'] !== undefined ? all : etagForCoding(baseEtag, coding), lastModified },
        request.method,
      )
      if (result === 304) {
        if (responses) responses.counters.notModified++
        reply.code(304).header('etag', etagForCoding(baseEtag, coding)).removeHeader('content-type')
        return null
      }
      if (result === 412) {
        reply.code(412).header('content-type', JSON_TYPE)
        return errorBody(new HttpPreconditionFailedError('If-Match', headers['if-match']))
      }
    }
    if (coding !== 'identity') {
      const uncompressed = (body ??= Buffer.from(payload))
      const compressed =
        coding === 'br'
          ? zlib.brotliCompressSync(uncompressed, {
              params: { [zlib.constants.BROTLI_PARAM_QUALITY]: ON_THE_FLY_BROTLI_QUALITY },
            })
          : zlib.gzipSync(uncompressed)
      if (compressed.length < uncompressed.length) {
        reply.header('etag', etagForCoding(baseEtag, coding)).header('content-encoding', coding)
        return compressed
      }
    }
    reply.header('etag', baseEtag)
    return payload
  }

  const warnedUnkeyed = new Set<string>()
  // Behind a proxy that always sets one of these headers nothing would ever be stored: say so once.
  function warnUnkeyed(header: string): void {
    if (warnedUnkeyed.has(header)) return
    warnedUnkeyed.add(header)
    fastify.log.warn(
      `httpCache: responses to requests carrying "${header}" are not stored (the header is not part of the cache key and could poison it). If a trusted proxy sets it on every request, pass unkeyedHeaders without it.`,
    )
  }

  function scheduleRefresh(request: FastifyRequest, key: string): void {
    if (refreshing.has(key)) return
    refreshing.add(key)
    const headers: Record<string, string | string[] | undefined> = {
      ...request.headers,
      [REFRESH_HEADER]: refreshSecret,
    }
    for (const h of ['if-none-match', 'if-match', 'if-modified-since', 'if-unmodified-since'])
      delete headers[h]
    // The request that found the stale entry chose these; the refreshed entry must not depend on them.
    for (const h of responses?.options.unkeyedHeaders ?? []) delete headers[h]
    setImmediate(() => {
      fastify
        .inject({ method: 'GET', url: request.url, headers: headers as Record<string, string> })
        .catch((error: unknown) => fastify.log.warn({ err: error }, 'httpCache: background refresh failed'))
        .finally(() => refreshing.delete(key))
    })
  }

  async function invalidateTarget(
    request: FastifyRequest,
    reply: FastifyReply,
    payload: unknown,
  ): Promise<unknown> {
    const status = reply.statusCode
    if (!responses || status < 200 || status >= 400 || !UNSAFE.has(request.method)) return payload
    const paths = new Set<string>()
    const target = normalizePath(request.url)
    if (target) paths.add(target)
    // RFC 9111 §4.4: Location and Content-Location may be invalidated too, when same-origin.
    for (const name of ['location', 'content-location']) {
      const value = headerString(reply.getHeader(name))
      const path = value ? sameOriginPath(value, request.host) : undefined
      if (path) paths.add(path)
    }
    await responses.invalidatePaths([...paths])
    return payload
  }
}

const varyMemo = new WeakMap<ResolvedRoute, [string, string]>()

function responseVary(route: ResolvedRoute, reply: FastifyReply, compressible: boolean): string | undefined {
  const existing = reply.getHeader('vary')
  const accept = route.negotiate ? 'accept' : undefined
  if (existing === undefined) {
    // The common case (handler set no Vary) depends on the route only: compute it once.
    let memo = varyMemo.get(route)
    if (!memo) {
      memo = [mergeVary(route.vary, accept), mergeVary(route.vary, accept, 'accept-encoding')]
      varyMemo.set(route, memo)
    }
    return (compressible ? memo[1] : memo[0]) || undefined
  }
  const merged = mergeVary(
    typeof existing === 'string' || Array.isArray(existing) ? existing : undefined,
    route.vary,
    accept,
    compressible ? 'accept-encoding' : undefined,
  )
  return merged || undefined
}

function storableHeaders(reply: FastifyReply): [string, string][] {
  const out: [string, string][] = []
  // Both Fastify and Node keep header names lower-case.
  const headers = reply.getHeaders()
  for (const name in headers) {
    const value = headers[name]
    if (value === undefined || VOLATILE_HEADERS.has(name)) continue
    out.push([name, Array.isArray(value) ? value.join(', ') : String(value)])
  }
  return out
}

function isThenable<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof (value as { then?: unknown } | null | undefined)?.then === 'function'
}

function headerString(value: unknown): string | undefined {
  if (typeof value === 'string') return value
  if (typeof value === 'number') return String(value)
  if (Array.isArray(value)) return value.join(', ')
  return undefined
}

function toETag(value: string | number | undefined | null): string | undefined {
  if (value === undefined || value === null) return undefined
  const text = String(value)
  if (parseETag(text)) return text
  return `"${text.replace(/[^\x21\x23-\x7e]/g, (c) => encodeURIComponent(c))}"`
}

function toEpoch(value: Date | number | undefined | null): number | undefined {
  if (value === undefined || value === null) return undefined
  const ms = value instanceof Date ? value.getTime() : value
  return Number.isFinite(ms) ? ms : undefined
}

function weaken(etag: string): string {
  return etag.startsWith('W/') ? etag : `W/${etag}`
}

function sameOriginPath(value: string, host: string): string | undefined {
  if (value.startsWith('/') && !value.startsWith('//')) return normalizePath(value)
  try {
    const url = new URL(value)
    return url.host === host ? normalizePath(url.pathname) : undefined
  } catch {
    return undefined
  }
}

function toArray<T>(value: T | T[] | undefined): T[] {
  if (value === undefined) return []
  return Array.isArray(value) ? [...value] : [value]
}

// On an exposed HEAD route Fastify appends a handler that empties the payload; ours must see the body.
function insertBeforeHeadHandler<T>(hooks: T[], hook: T): T[] {
  const at = hooks.findIndex((h) => (h as { name?: string }).name === 'headRouteOnSendHandler')
  if (at === -1) return [...hooks, hook]
  return [...hooks.slice(0, at), hook, ...hooks.slice(at)]
}

function errorBody(error: HotpathError): string {
  return JSON.stringify({ error: { code: error.code, message: error.message } })
}

function sendError(reply: FastifyReply, error: HotpathError): FastifyReply {
  return reply
    .code(error.statusCode ?? 400)
    .header('content-type', JSON_TYPE)
    .header('cache-control', 'no-store')
    .send(errorBody(error))
}

function installFastLane(fastify: FastifyInstance, responses: ResponseCache): void {
  const server = fastify.server
  const lane = createFastLane(responses)
  const listeners = server.listeners('request') as ((...args: unknown[]) => void)[]
  if (listeners.length === 0) {
    throw typeError(
      'fastLane',
      true,
      "Fastify's own server (with serverFactory, call createFastLane(app.httpCache.responses) in your handler instead)",
    )
  }
  server.removeAllListeners('request')
  // Not a per-request closure: a hit never falls through, so it should not allocate one.
  const fallThroughFor = (req: IncomingMessage, res: ServerResponse) => {
    for (const listener of listeners) listener.call(server, req, res)
  }
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const headers = req.headers
    // What the lane never answers goes to Fastify in the same tick.
    if (
      (req.method !== 'GET' && req.method !== 'HEAD') ||
      headers.authorization !== undefined ||
      headers.cookie !== undefined
    ) {
      fallThroughFor(req, res)
      return
    }
    let result: boolean | Promise<boolean>
    try {
      result = lane(req, res)
    } catch (error) {
      fastify.log.warn({ err: error }, 'httpCache: fast lane failed, falling through')
      if (!res.headersSent) fallThroughFor(req, res)
      return
    }
    if (result === true) return
    if (result === false) {
      fallThroughFor(req, res)
      return
    }
    result.then(
      (served) => {
        if (!served) fallThroughFor(req, res)
      },
      (error: unknown) => {
        fastify.log.warn({ err: error }, 'httpCache: fast lane failed, falling through')
        if (!res.headersSent) fallThroughFor(req, res)
      },
    )
  })
}

/**
 * HTTP caching for Fastify: Cache-Control policies, RFC 9110 conditional requests (ETag,
 * 304/412/428), Vary and compression, and a server-side response cache with tags, unsafe-method
 * invalidation and an optional fast lane. Register it before the routes it should see.
 *
 * @example
 * await app.register(httpCache, { cache: createCache(), getUser: (req) => req.user?.id })
 * app.get('/items/:id', {
 *   config: { httpCache: { policy: { scope: 'public', maxAge: '1m' }, tags: ['items'] } },
 * }, handler)
 */
export const httpCache = fp(httpCachePlugin, { fastify: '5.x', name: 'hotpath-http-cache' })
export default httpCache
