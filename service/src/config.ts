/**
 * Configuration of the reference service: environment variables, overridden by CLI flags, validated
 * once at start into a frozen object. A bad value throws a {@link ConfigError} naming the variable.
 */
import { parseRedisUrl } from '../../src/cache/stores/redis/redis-url.js'
import { parseDuration } from '../../src/util/duration.js'
import { ConfigError } from './errors.js'
import { DEFAULT_RATE_LIMIT, parseRateLimit, type RateLimitBudget } from './rate-limit/rate-limit-config.js'

export const DEFAULT_PORT = 3000
export const DEFAULT_HOST = '127.0.0.1'
export const DEFAULT_DATABASE_URL = 'sqlite:data/hotpath.db'
export const DEFAULT_DB_POOL_SIZE = 10
export const DEFAULT_LOG_LEVEL = 'info'
export const DEFAULT_BODY_LIMIT = 1024 * 1024
export const DEFAULT_SEED_ITEMS = 100_000
export const DEFAULT_SEED_USERS = 10_000
export const DEFAULT_SEED_POSTS = 200_000
export const DEFAULT_SEED = 42
/** Data cache (cache-aside on items, lists, search, posts). */
export const DEFAULT_CACHE = true
export const DEFAULT_CACHE_PREFIX = 'hp'
export const DEFAULT_CACHE_TTL = 60_000
export const DEFAULT_CACHE_GRACE = 10_000
/** Byte budget of the in-process L1 of the data and response caches (`CACHE_L1_MAX_BYTES`). */
export const DEFAULT_CACHE_L1_MAX_BYTES = 64 * 1024 * 1024
/**
 * Server-side HTTP response cache (validators, 304/412 and Cache-Control are always on). Stored
 * responses are dated from the request start, so a read racing a write is purged by the write.
 * Still off by default: with it on, the service answers differently from what its contract tests
 * pin (undeclared query parameters get `E_HTTP_UNKNOWN_QUERY_PARAM` instead of `E_VALIDATION`,
 * `X-Cache`/Server-Timing report the response cache, not the data cache).
 */
export const DEFAULT_HTTP_CACHE = false
/** Public stored responses answered before Fastify routing: off, it bypasses every hook. */
export const DEFAULT_FAST_LANE = false
export const DEFAULT_REQUIRE_IF_MATCH = false
export const DEFAULT_PROFILING = false
export const DEFAULT_METRICS = true
export const DEFAULT_SERVER_TIMING: ServerTimingMode = 'on'
export const DEFAULT_SLOW_QUERY_MS = 100
/**
 * Off by default: counting queries per request needs AsyncLocalStorage, which on Node 20 hooks every
 * promise of the process (about +20 µs CPU per cached `GET /items/:id`, doubling its cost).
 */
export const DEFAULT_N_PLUS_ONE_THRESHOLD = 0
export const DEFAULT_BLOCKING_THRESHOLD_MS = 100
/** Fresh lifetime of upstream answers without Cache-Control max-age (`UPSTREAM_TTL`). */
export const DEFAULT_UPSTREAM_CACHE_TTL = 60_000
/** Where `STATIC_DIR` is built to (content-hashed names, `.br`/`.gz`, manifest), served at `/static/`. */
export const DEFAULT_STATIC_OUT_DIR = 'dist/assets/app'
/** Shortest accepted `ADMIN_TOKEN` / `METRICS_TOKEN`. */
export const MIN_TOKEN_LENGTH = 16

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const
export type LogLevel = (typeof LOG_LEVELS)[number]

/** Where the data lives: an SQLite file (or `:memory:`) or a PostgreSQL connection string. */
export type DatabaseTarget =
  | { readonly dialect: 'sqlite'; readonly filename: string }
  | { readonly dialect: 'postgres'; readonly connectionString: string }

export interface ServiceConfig {
  readonly port: number
  readonly host: string
  readonly databaseUrl: string
  readonly database: DatabaseTarget
  readonly dbPoolSize: number
  /**
   * `DB_POOL_ACQUIRE_TIMEOUT`: how long a request waits for a pooled PostgreSQL connection before
   * a 503 `E_DB_POOL_EXHAUSTED` (ms). `undefined` keeps the database layer's default (2 s).
   */
  readonly dbPoolAcquireTimeout?: number | undefined
  /**
   * `DB_STATEMENT_TIMEOUT`: PostgreSQL `statement_timeout` (ms); a longer query gets 504
   * `E_DB_STATEMENT_TIMEOUT`. `undefined` keeps the server's setting.
   */
  readonly dbStatementTimeout?: number | undefined
  /** `undefined` means the cache runs with its memory tier only. */
  readonly redisUrl: string | undefined
  readonly logLevel: LogLevel
  readonly bodyLimit: number
  /** `RATE_LIMIT=off|<n>/<window>`: requests per client address (and per token); `false` = off. */
  readonly rateLimit: RateLimitBudget | false
  /**
   * Fastify's `trustProxy`: which peers may set `X-Forwarded-For` / `-Proto` / `-Host` for
   * `request.ip` (rate limiting, logs). `false` trusts none; a list of addresses or CIDRs trusts
   * those proxies (e.g. nginx on 127.0.0.1).
   */
  readonly trustProxy: false | string[]
  readonly seed: SeedSizes
  /** Data cache settings (`CACHE`, `CACHE_PREFIX`, `CACHE_TTL`, `CACHE_GRACE`). */
  readonly cache: CacheConfig
  /** `HTTP_CACHE=on|off`: server-side response cache on the cacheable routes. */
  readonly httpCache: boolean
  /** `FAST_LANE=on|off`: answer public stored responses before routing (needs `HTTP_CACHE=on`). */
  readonly fastLane: boolean
  /** `REQUIRE_IF_MATCH=on|off`: PUT/PATCH/DELETE on items without `If-Match` get 428. */
  readonly requireIfMatch: boolean
  /** Diagnostics: profiling, metrics, Server-Timing and detectors. */
  readonly diagnostics: DiagnosticsConfig
  /** `DASHBOARD=on|off`: the live dashboard at `/_hotpath/` (default: on when `ADMIN_TOKEN` is set). */
  readonly dashboard: boolean
  /** `STATIC_DIR`: the app's static files, built into `staticOutDir` and served at `/static/`. */
  readonly staticDir: string | undefined
  /** `STATIC_OUT_DIR`: build output of `STATIC_DIR` (what a reverse proxy serves for `/static/`). */
  readonly staticOutDir: string
  /** `UPSTREAM_URL`, `UPSTREAM_TTL`: the upstream behind `GET /rates/:currency` (no route without it). */
  readonly upstream: UpstreamConfig
}

export interface UpstreamConfig {
  /** Origin (`http(s)://host:port`) of the rates upstream; `undefined` leaves `/rates` out. */
  readonly url: string | undefined
  /** Fresh lifetime of answers whose upstream sends no Cache-Control max-age. */
  readonly ttl: number
}

export interface CacheConfig {
  readonly enabled: boolean
  readonly prefix: string
  readonly ttl: number
  readonly grace: number
  /** `CACHE_L1_MAX_BYTES`: L1 byte budget (entries larger than 1 MiB, or the budget, stay out of L1). */
  readonly l1MaxBytes: number
}

/** How much Server-Timing the service sends (`SERVER_TIMING`). */
export type ServerTimingMode = 'off' | 'on' | 'full'

export interface DiagnosticsConfig {
  /** `PROFILING=on|off`: `?profile=1` for requests with `ADMIN_TOKEN`. */
  readonly profiling: boolean
  readonly adminToken: string | undefined
  /** Directory of saved profiles (`PROFILES_DIR`). */
  readonly profilesDir: string | undefined
  /** `METRICS=on|off`: Prometheus text at `GET /metrics`. */
  readonly metrics: boolean
  /** When set, `/metrics` requires `Authorization: Bearer <METRICS_TOKEN>`. */
  readonly metricsToken: string | undefined
  /**
   * `SERVER_TIMING=on|full|off`: `on` sends `total`, `serialize` and the timings layers add with the
   * request at hand; `full` adds `db` (query count) and `cache` (tier) from the diagnostics channels,
   * which needs AsyncLocalStorage (about +20 µs CPU per cached request on Node 20).
   */
  readonly serverTiming: ServerTimingMode
  /** `SLOW_QUERY_MS`; 0 turns the slow-query log off. */
  readonly slowQueryMs: number
  /** `N_PLUS_ONE_THRESHOLD`; 0 turns the N+1 detector off. */
  readonly nPlusOneThreshold: number
  /** `BLOCKING_THRESHOLD_MS`; 0 turns the blocking detector off. */
  readonly blockingThresholdMs: number
}

export interface SeedSizes {
  readonly items: number
  readonly users: number
  readonly posts: number
  readonly seed: number
}

/** Values given on the command line; each one wins over its environment variable. */
export interface ConfigFlags {
  port?: string | number | undefined
  host?: string | undefined
  databaseUrl?: string | undefined
  redisUrl?: string | undefined
  logLevel?: string | undefined
}

type Env = Readonly<Record<string, string | undefined>>

/**
 * Every environment variable {@link loadConfig} reads, recorded from a run on an empty environment
 * (derived, so it cannot fall behind the loader). Bench targets blank the ones a run does not set,
 * so that a variable exported in the shell never changes what a benchmark measures.
 */
export function serviceVariableNames(): string[] {
  const read = new Set<string>()
  const recorder = new Proxy<Env>(
    {},
    {
      get(_target, name) {
        if (typeof name === 'string') read.add(name)
        return undefined
      },
    },
  )
  loadConfig(recorder)
  return [...read]
}

/**
 * Read and validate the configuration.
 *
 * @example
 * const config = loadConfig(process.env, { port: '8080' })
 * config.database // { dialect: 'sqlite', filename: 'data/hotpath.db' }
 *
 * @throws ConfigError naming the variable when a value is invalid
 */
export function loadConfig(env: Env = process.env, flags: ConfigFlags = {}): ServiceConfig {
  // Each value remembers where it came from, so an error names the flag or the variable to fix.
  const pick = (flag: string | number | undefined, name: string, option?: string): Raw => {
    if (flag !== undefined) return { value: String(flag), name: option ?? name }
    const value = env[name]
    return { value: value === undefined || value === '' ? undefined : value, name }
  }
  const databaseUrl = pick(flags.databaseUrl, 'DATABASE_URL', '--database-url')
  const url = databaseUrl.value ?? DEFAULT_DATABASE_URL
  return Object.freeze({
    port: integer(pick(flags.port, 'PORT', '--port'), DEFAULT_PORT, 0, 65_535),
    host: host(pick(flags.host, 'HOST', '--host'), DEFAULT_HOST),
    databaseUrl: url,
    database: Object.freeze(parseDatabaseUrl(url, databaseUrl.name)),
    dbPoolSize: integer(pick(undefined, 'DB_POOL_SIZE'), DEFAULT_DB_POOL_SIZE, 1, 1_000),
    dbPoolAcquireTimeout: optionalDuration(pick(undefined, 'DB_POOL_ACQUIRE_TIMEOUT')),
    dbStatementTimeout: optionalDuration(pick(undefined, 'DB_STATEMENT_TIMEOUT')),
    redisUrl: redisUrl(pick(flags.redisUrl, 'REDIS_URL', '--redis-url')),
    logLevel: logLevel(pick(flags.logLevel, 'LOG_LEVEL', '--log-level'), DEFAULT_LOG_LEVEL),
    bodyLimit: byteSize(pick(undefined, 'BODY_LIMIT'), DEFAULT_BODY_LIMIT),
    rateLimit: rateLimitBudget(pick(undefined, 'RATE_LIMIT')),
    trustProxy: trustProxy(pick(undefined, 'TRUST_PROXY')),
    seed: Object.freeze({
      items: integer(pick(undefined, 'SEED_ITEMS'), DEFAULT_SEED_ITEMS, 0, 100_000_000),
      users: integer(pick(undefined, 'SEED_USERS'), DEFAULT_SEED_USERS, 0, 100_000_000),
      posts: integer(pick(undefined, 'SEED_POSTS'), DEFAULT_SEED_POSTS, 0, 100_000_000),
      seed: integer(pick(undefined, 'SEED'), DEFAULT_SEED, 0, 2 ** 32 - 1),
    }),
    ...features(pick),
    ...operations(pick),
    upstream: Object.freeze({
      url: upstreamUrl(pick(undefined, 'UPSTREAM_URL')),
      ttl: duration(pick(undefined, 'UPSTREAM_TTL'), DEFAULT_UPSTREAM_CACHE_TTL, 0),
    }),
  })
}

type PickRaw = (flag: string | number | undefined, name: string, option?: string) => Raw

function operations(pick: PickRaw): Pick<ServiceConfig, 'dashboard' | 'staticDir' | 'staticOutDir'> {
  const adminToken = pick(undefined, 'ADMIN_TOKEN').value
  const dashboard = onOff(pick(undefined, 'DASHBOARD'), adminToken !== undefined)
  if (dashboard && adminToken === undefined) {
    throw new ConfigError(
      'ADMIN_TOKEN',
      undefined,
      `a secret of at least ${MIN_TOKEN_LENGTH} characters when DASHBOARD is on`,
    )
  }
  return {
    dashboard,
    staticDir: pick(undefined, 'STATIC_DIR').value,
    staticOutDir: pick(undefined, 'STATIC_OUT_DIR').value ?? DEFAULT_STATIC_OUT_DIR,
  }
}

function features(
  pick: PickRaw,
): Pick<ServiceConfig, 'cache' | 'httpCache' | 'fastLane' | 'requireIfMatch' | 'diagnostics'> {
  const httpCache = onOff(pick(undefined, 'HTTP_CACHE'), DEFAULT_HTTP_CACHE)
  const fastLaneRaw = pick(undefined, 'FAST_LANE')
  const fastLane = onOff(fastLaneRaw, DEFAULT_FAST_LANE)
  if (fastLane && !httpCache) {
    throw new ConfigError(
      fastLaneRaw.name,
      fastLaneRaw.value,
      "'off' while HTTP_CACHE is off (the fast lane serves stored responses)",
    )
  }
  const profilingRaw = pick(undefined, 'PROFILING')
  const profiling = onOff(profilingRaw, DEFAULT_PROFILING)
  const adminTokenRaw = pick(undefined, 'ADMIN_TOKEN')
  const adminToken = token(adminTokenRaw)
  if (profiling && adminToken === undefined) {
    throw new ConfigError(
      'ADMIN_TOKEN',
      undefined,
      `a secret of at least ${MIN_TOKEN_LENGTH} characters when PROFILING is on`,
    )
  }
  return {
    cache: Object.freeze({
      enabled: onOff(pick(undefined, 'CACHE'), DEFAULT_CACHE),
      prefix: cachePrefix(pick(undefined, 'CACHE_PREFIX'), DEFAULT_CACHE_PREFIX),
      ttl: duration(pick(undefined, 'CACHE_TTL'), DEFAULT_CACHE_TTL, 1),
      grace: duration(pick(undefined, 'CACHE_GRACE'), DEFAULT_CACHE_GRACE, 0),
      l1MaxBytes: byteSize(pick(undefined, 'CACHE_L1_MAX_BYTES'), DEFAULT_CACHE_L1_MAX_BYTES),
    }),
    httpCache,
    fastLane,
    requireIfMatch: onOff(pick(undefined, 'REQUIRE_IF_MATCH'), DEFAULT_REQUIRE_IF_MATCH),
    diagnostics: Object.freeze({
      profiling,
      adminToken,
      profilesDir: pick(undefined, 'PROFILES_DIR').value,
      metrics: onOff(pick(undefined, 'METRICS'), DEFAULT_METRICS),
      metricsToken: token(pick(undefined, 'METRICS_TOKEN')),
      serverTiming: serverTimingMode(pick(undefined, 'SERVER_TIMING')),
      slowQueryMs: integer(pick(undefined, 'SLOW_QUERY_MS'), DEFAULT_SLOW_QUERY_MS, 0, 3_600_000),
      nPlusOneThreshold: integer(
        pick(undefined, 'N_PLUS_ONE_THRESHOLD'),
        DEFAULT_N_PLUS_ONE_THRESHOLD,
        0,
        1_000_000,
      ),
      blockingThresholdMs: integer(
        pick(undefined, 'BLOCKING_THRESHOLD_MS'),
        DEFAULT_BLOCKING_THRESHOLD_MS,
        0,
        3_600_000,
      ),
    }),
  }
}

const ON = new Set(['on', 'true', '1', 'yes'])
const OFF = new Set(['off', 'false', '0', 'no'])

function onOff({ value: raw, name }: Raw, fallback: boolean): boolean {
  if (raw === undefined) return fallback
  const value = raw.trim().toLowerCase()
  if (ON.has(value)) return true
  if (OFF.has(value)) return false
  throw new ConfigError(name, raw, "'on' or 'off'")
}

function serverTimingMode({ value: raw, name }: Raw): ServerTimingMode {
  if (raw === undefined) return DEFAULT_SERVER_TIMING
  const value = raw.trim().toLowerCase()
  if (value === 'full') return 'full'
  if (ON.has(value)) return 'on'
  if (OFF.has(value)) return 'off'
  throw new ConfigError(name, raw, "'on', 'full' or 'off'")
}

function token({ value: raw, name }: Raw): string | undefined {
  if (raw === undefined) return undefined
  if (raw.length < MIN_TOKEN_LENGTH || /\s/.test(raw)) {
    throw new ConfigError(
      name,
      '<redacted>',
      `a secret of at least ${MIN_TOKEN_LENGTH} characters without spaces`,
    )
  }
  return raw
}

function cachePrefix({ value: raw, name }: Raw, fallback: string): string {
  if (raw === undefined) return fallback
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(raw))
    throw new ConfigError(name, raw, '1-64 characters among A-Z a-z 0-9 _ . -')
  return raw
}

function duration({ value: raw, name }: Raw, fallback: number, min: number): number {
  if (raw === undefined) return fallback
  let ms: number
  try {
    ms = parseDuration(raw, name)
  } catch {
    ms = Number.NaN
  }
  if (!(ms >= min) || !Number.isFinite(ms)) {
    throw new ConfigError(name, raw, `a duration${min > 0 ? ' above 0' : ''} such as 500, '30s' or '5m'`)
  }
  return ms
}

/** A whole number of milliseconds (0 allowed), or `undefined` when the variable is not set. */
function optionalDuration(raw: Raw): number | undefined {
  return raw.value === undefined ? undefined : Math.ceil(duration(raw, 0, 0))
}

/** A raw value and the name of the variable or flag it came from. */
interface Raw {
  value: string | undefined
  name: string
}

/**
 * Parse `DATABASE_URL`: `sqlite:<path>`, `sqlite::memory:`, or `postgres://…` / `postgresql://…`.
 *
 * @throws ConfigError when the URL has another scheme or no path
 */
export function parseDatabaseUrl(url: string, variable = 'DATABASE_URL'): DatabaseTarget {
  if (url.startsWith('sqlite:')) {
    const filename = url.slice('sqlite:'.length).replace(/^\/\//, '')
    if (filename === '') throw new ConfigError(variable, url, "'sqlite:<file path>' or 'sqlite::memory:'")
    return { dialect: 'sqlite', filename }
  }
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) {
    try {
      new URL(url)
    } catch {
      throw new ConfigError(variable, url, 'a valid postgres://user@host:port/database URL')
    }
    return { dialect: 'postgres', connectionString: url }
  }
  throw new ConfigError(variable, url, "'sqlite:<file path>', 'sqlite::memory:' or 'postgres://…'")
}

function integer({ value: raw, name }: Raw, fallback: number, min: number, max: number): number {
  if (raw === undefined) return fallback
  const value = Number(raw.trim())
  if (!/^\s*\d+\s*$/.test(raw) || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new ConfigError(name, raw, `an integer from ${min} to ${max}`)
  }
  return value
}

function host({ value: raw, name }: Raw, fallback: string): string {
  if (raw === undefined) return fallback
  if (!/^[A-Za-z0-9.:\-[\]]+$/.test(raw)) throw new ConfigError(name, raw, 'a host name or IP address')
  return raw
}

function redisUrl({ value: raw, name }: Raw): string | undefined {
  if (raw === undefined) return undefined
  if (parseRedisUrl(raw) === undefined) {
    throw new ConfigError(
      name,
      raw,
      'a redis://host:port or rediss://host:port URL, a cluster: redis+cluster://host:port,host:port, or Sentinel: redis+sentinel://host:port,host:port/primary-name',
    )
  }
  return raw
}

function upstreamUrl({ value: raw, name }: Raw): string | undefined {
  if (raw === undefined) return undefined
  let ok = false
  try {
    const parsed = new URL(raw)
    ok =
      (parsed.protocol === 'http:' || parsed.protocol === 'https:') &&
      parsed.pathname === '/' &&
      parsed.search === ''
  } catch {
    ok = false
  }
  if (!ok) throw new ConfigError(name, raw, 'an origin such as http://127.0.0.1:8080 (no path)')
  return raw
}

function logLevel({ value: raw, name }: Raw, fallback: LogLevel): LogLevel {
  if (raw === undefined) return fallback
  const level = raw.toLowerCase()
  if (!(LOG_LEVELS as readonly string[]).includes(level)) {
    throw new ConfigError(name, raw, `one of ${LOG_LEVELS.join(', ')}`)
  }
  return level as LogLevel
}

const BYTE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  kb: 1_000,
  kib: 1_024,
  mb: 1_000_000,
  mib: 1_048_576,
}

const PROXY_ADDRESS = /^(?:[0-9.]+|[0-9a-f:]+)(?:\/\d{1,3})?$/i

/**
 * `TRUST_PROXY`: `off` (default), or a comma-separated list of proxy addresses or CIDRs
 * (`127.0.0.1,10.0.0.0/8`). `on`/`true` (trust every peer) is refused: any client could
 * then choose its own address and escape the rate limit.
 */
function trustProxy({ value: raw, name }: Raw): false | string[] {
  if (raw === undefined || /^(off|false|no)$/i.test(raw.trim())) return false
  const text = raw.trim()
  const list = text.split(',').map((part) => part.trim())
  if (list.length > 0 && list.every((part) => PROXY_ADDRESS.test(part))) return list
  throw new ConfigError(
    name,
    raw,
    "'off' or proxy addresses/CIDRs such as '127.0.0.1,10.0.0.0/8' (never every peer)",
  )
}

function rateLimitBudget({ value: raw, name }: Raw): RateLimitBudget | false {
  if (raw === undefined) return DEFAULT_RATE_LIMIT
  const budget = parseRateLimit(raw)
  if (budget === undefined) {
    throw new ConfigError(name, raw, "'off' or '<requests>/<window>' such as '600/1m' or '20/1s'")
  }
  return budget
}

function byteSize({ value: raw, name }: Raw, fallback: number): number {
  if (raw === undefined) return fallback
  const match = /^\s*(\d+)\s*([a-z]*)\s*$/i.exec(raw)
  const unit = BYTE_UNITS[(match?.[2] ?? '').toLowerCase()]
  const value = match && unit !== undefined ? Number(match[1]) * unit : Number.NaN
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new ConfigError(name, raw, "a positive size in bytes such as 1048576, '512kib' or '1mib'")
  }
  return value
}
