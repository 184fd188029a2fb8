import { describe, expect, it } from 'vitest'
import { loadConfig, parseDatabaseUrl, serviceVariableNames } from '../../../service/src/config.js'
import { ConfigError } from '../../../service/src/errors.js'

describe('loadConfig', () => {
  it('lists every variable it reads (bench targets blank the rest), derived from the loader', () => {
    const names = serviceVariableNames()
    expect(new Set(names).size).toBe(names.length)
    for (const name of ['DATABASE_URL', 'REDIS_URL', 'CACHE', 'HTTP_CACHE', 'RATE_LIMIT', 'TRUST_PROXY']) {
      expect(names).toContain(name)
    }
    expect(names).toContain('CACHE_L1_MAX_BYTES')
    expect(names).toContain('SERVER_TIMING')
    // Each listed variable really changes the configuration or is validated: a bad value is refused.
    expect(() => loadConfig({ CACHE_L1_MAX_BYTES: 'lots' })).toThrow(/CACHE_L1_MAX_BYTES/)
  })

  it('reads TRUST_PROXY as proxy addresses, and refuses trusting every peer', () => {
    expect(loadConfig({ TRUST_PROXY: '127.0.0.1, 10.0.0.0/8,::1' }).trustProxy).toEqual([
      '127.0.0.1',
      '10.0.0.0/8',
      '::1',
    ])
    expect(loadConfig({ TRUST_PROXY: 'off' }).trustProxy).toBe(false)
    expect(() => loadConfig({ TRUST_PROXY: 'true' })).toThrow(/TRUST_PROXY/)
    expect(() => loadConfig({ TRUST_PROXY: 'nginx.local' })).toThrow(ConfigError)
  })

  it('has the documented defaults and freezes the result', () => {
    const config = loadConfig({})
    expect(config).toEqual({
      port: 3000,
      host: '127.0.0.1',
      databaseUrl: 'sqlite:data/hotpath.db',
      database: { dialect: 'sqlite', filename: 'data/hotpath.db' },
      dbPoolSize: 10,
      redisUrl: undefined,
      logLevel: 'info',
      bodyLimit: 1_048_576,
      rateLimit: false,
      trustProxy: false,
      seed: { items: 100_000, users: 10_000, posts: 200_000, seed: 42 },
      cache: { enabled: true, prefix: 'hp', ttl: 60_000, grace: 10_000, l1MaxBytes: 64 * 1024 * 1024 },
      httpCache: false,
      fastLane: false,
      requireIfMatch: false,
      diagnostics: {
        profiling: false,
        adminToken: undefined,
        profilesDir: undefined,
        metrics: true,
        metricsToken: undefined,
        serverTiming: 'on',
        slowQueryMs: 100,
        nPlusOneThreshold: 0,
        blockingThresholdMs: 100,
      },
      dbPoolAcquireTimeout: undefined,
      dbStatementTimeout: undefined,
      dashboard: false,
      staticDir: undefined,
      staticOutDir: 'dist/assets/app',
      upstream: { url: undefined, ttl: 60_000 },
    })
    expect(Object.isFrozen(config)).toBe(true)
    expect(Object.isFrozen(config.seed)).toBe(true)
  })

  it('reads every variable, and flags win over variables', () => {
    const config = loadConfig(
      {
        PORT: '8080',
        HOST: '0.0.0.0',
        DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/test',
        DB_POOL_SIZE: '20',
        REDIS_URL: 'redis://127.0.0.1:6379',
        LOG_LEVEL: 'WARN',
        BODY_LIMIT: '512kib',
        SEED_ITEMS: '10',
        SEED_USERS: '2',
        SEED_POSTS: '3',
        SEED: '7',
      },
      { port: '9090', logLevel: 'debug', databaseUrl: 'sqlite::memory:' },
    )
    expect(config).toMatchObject({
      port: 9090,
      host: '0.0.0.0',
      database: { dialect: 'sqlite', filename: ':memory:' },
      dbPoolSize: 20,
      redisUrl: 'redis://127.0.0.1:6379',
      logLevel: 'debug',
      bodyLimit: 512 * 1024,
      seed: { items: 10, users: 2, posts: 3, seed: 7 },
    })
  })

  it('reads the cache, HTTP cache and diagnostics switches', () => {
    const config = loadConfig({
      CACHE: 'off',
      CACHE_PREFIX: 'svc-a',
      CACHE_TTL: '5m',
      CACHE_GRACE: '0',
      HTTP_CACHE: 'on',
      FAST_LANE: 'true',
      REQUIRE_IF_MATCH: 'ON',
      PROFILING: 'on',
      ADMIN_TOKEN: 'admin-token-0123456789',
      PROFILES_DIR: '/tmp/profiles',
      METRICS: 'off',
      METRICS_TOKEN: 'metrics-token-0123456789',
      SERVER_TIMING: 'no',
      SLOW_QUERY_MS: '0',
      N_PLUS_ONE_THRESHOLD: '25',
      BLOCKING_THRESHOLD_MS: '250',
    })
    expect(config).toMatchObject({
      cache: { enabled: false, prefix: 'svc-a', ttl: 300_000, grace: 0 },
      httpCache: true,
      fastLane: true,
      requireIfMatch: true,
      diagnostics: {
        profiling: true,
        adminToken: 'admin-token-0123456789',
        profilesDir: '/tmp/profiles',
        metrics: false,
        metricsToken: 'metrics-token-0123456789',
        serverTiming: 'off',
        slowQueryMs: 0,
        nPlusOneThreshold: 25,
        blockingThresholdMs: 250,
      },
    })
    expect(Object.isFrozen(config.cache)).toBe(true)
    expect(Object.isFrozen(config.diagnostics)).toBe(true)
  })

  it('never echoes a token in its error message', () => {
    expect(() => loadConfig({ METRICS_TOKEN: 'hunter2x' })).toThrow(/METRICS_TOKEN/)
    expect(() => loadConfig({ METRICS_TOKEN: 'hunter2x' })).not.toThrow(/hunter2x/)
  })

  it('treats an empty variable as unset', () => {
    expect(loadConfig({ PORT: '', REDIS_URL: '' })).toMatchObject({ port: 3000, redisUrl: undefined })
  })

  it.each([
    [{ PORT: 'abc' }, 'PORT'],
    [{ PORT: '65536' }, 'PORT'],
    [{ PORT: '-1' }, 'PORT'],
    [{ PORT: '80.5' }, 'PORT'],
    [{ HOST: 'bad host!' }, 'HOST'],
    [{ DATABASE_URL: 'mysql://x/y' }, 'DATABASE_URL'],
    [{ DATABASE_URL: 'sqlite:' }, 'DATABASE_URL'],
    [{ DB_POOL_SIZE: '0' }, 'DB_POOL_SIZE'],
    [{ REDIS_URL: 'localhost:6379' }, 'REDIS_URL'],
    [{ LOG_LEVEL: 'verbose' }, 'LOG_LEVEL'],
    [{ BODY_LIMIT: '1 parsec' }, 'BODY_LIMIT'],
    [{ SEED_ITEMS: 'many' }, 'SEED_ITEMS'],
    [{ SEED: '4294967296' }, 'SEED'],
    [{ CACHE: 'maybe' }, 'CACHE'],
    [{ CACHE_PREFIX: 'a:b' }, 'CACHE_PREFIX'],
    [{ CACHE_TTL: '0' }, 'CACHE_TTL'],
    [{ CACHE_TTL: 'soon' }, 'CACHE_TTL'],
    [{ CACHE_GRACE: '-5s' }, 'CACHE_GRACE'],
    [{ HTTP_CACHE: 'yes please' }, 'HTTP_CACHE'],
    [{ FAST_LANE: 'on' }, 'FAST_LANE'],
    [{ REQUIRE_IF_MATCH: '2' }, 'REQUIRE_IF_MATCH'],
    [{ PROFILING: 'on' }, 'ADMIN_TOKEN'],
    [{ ADMIN_TOKEN: 'short' }, 'ADMIN_TOKEN'],
    [{ METRICS_TOKEN: 'has a space in it ok' }, 'METRICS_TOKEN'],
    [{ SERVER_TIMING: 'partial' }, 'SERVER_TIMING'],
    [{ SLOW_QUERY_MS: 'fast' }, 'SLOW_QUERY_MS'],
    [{ N_PLUS_ONE_THRESHOLD: '-1' }, 'N_PLUS_ONE_THRESHOLD'],
    [{ BLOCKING_THRESHOLD_MS: '1.5' }, 'BLOCKING_THRESHOLD_MS'],
  ])('rejects %o naming %s', (env, variable) => {
    let caught: unknown
    try {
      loadConfig(env)
    } catch (error) {
      caught = error
    }
    expect(caught).toBeInstanceOf(ConfigError)
    const error = caught as ConfigError
    expect(error.code).toBe('E_CONFIG')
    expect(error.variable).toBe(variable)
    expect(error.message).toMatch(new RegExp(`^Invalid ${variable}: got .+, expected .+\\.$`))
    expect(error.message).not.toContain('\n')
  })

  it('names the flag when the bad value came from a flag', () => {
    expect(() => loadConfig({ PORT: '1' }, { port: 'x' })).toThrow(/^Invalid --port: got "x"/)
  })
})

describe('parseDatabaseUrl', () => {
  it('accepts SQLite files, memory and PostgreSQL URLs', () => {
    expect(parseDatabaseUrl('sqlite:data/a.db')).toEqual({ dialect: 'sqlite', filename: 'data/a.db' })
    expect(parseDatabaseUrl('sqlite:///tmp/a.db')).toEqual({ dialect: 'sqlite', filename: '/tmp/a.db' })
    expect(parseDatabaseUrl('sqlite::memory:')).toEqual({ dialect: 'sqlite', filename: ':memory:' })
    expect(parseDatabaseUrl('postgresql://u@h:5432/d')).toEqual({
      dialect: 'postgres',
      connectionString: 'postgresql://u@h:5432/d',
    })
  })
})
