import { describe, expect, it } from 'vitest'
import { loadConfig, parseDatabaseUrl } from '../../../service/src/config.js'
import { ConfigError } from '../../../service/src/errors.js'

describe('loadConfig', () => {
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
      seed: { items: 100_000, users: 10_000, posts: 200_000, seed: 42 },
      cache: { enabled: true, prefix: 'hp', ttl: 60_000, grace: 10_000 },
      httpCache: false,
      fastLane: false,
      requireIfMatch: false,
      diagnostics: {
        profiling: false,
        adminToken: undefined,
        profilesDir: undefined,
        metrics: true,
        metricsToken: undefined,
        serverTiming: true,
        slowQueryMs: 100,
        nPlusOneThreshold: 10,
        blockingThresholdMs: 100,
      },
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
