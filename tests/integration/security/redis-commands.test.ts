/**
 * Redis command audit: a representative request mix (reads, writes, lists, search, invalidations,
 * the response cache, rate limiting, write-behind) against two service instances on a private
 * redis-server while a MONITOR connection records every command. No KEYS, FLUSHALL, FLUSHDB or
 * SCAN without COUNT may appear; the set of commands used is printed (for the minimal ACL).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { tokenForUser } from '../../../service/src/auth/token.js'
import type { ServiceApp } from '../../../service/src/context.js'
import { writeStrategySetup } from '../../../service/src/write-strategy/write-strategy-plugin.js'
import type { DedicatedRedis } from '../cache/helpers.js'
import { hasRedis } from '../../helpers/services.js'
import {
  privateRedis,
  redisClient,
  seededDatabase,
  serviceApp,
  SEED,
  uniquePrefix,
  until,
  type RedisClient,
  type SeededDatabase,
} from './support.js'

/** `1700000000.123456 [0 127.0.0.1:5555] "EVALSHA" "…"` → `['EVALSHA', '…']` (`[0 lua]` for scripts). */
function parseMonitorLine(line: string): { args: string[]; lua: boolean } | undefined {
  const match = /^\d+\.\d+ \[\d+ ([^\]]+)\] (.*)$/.exec(line)
  if (!match) return undefined
  const args = [...(match[2] as string).matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1] as string)
  return { args, lua: match[1] === 'lua' }
}

describe.runIf(hasRedis)('Redis commands used by the service', () => {
  let redis: DedicatedRedis
  let db: SeededDatabase
  let monitor: RedisClient
  let control: RedisClient
  const apps: ServiceApp[] = []
  const lines: string[] = []
  const prefix = uniquePrefix('audit')

  beforeAll(async () => {
    redis = await privateRedis()
    db = await seededDatabase()
    monitor = await redisClient(redis.url)
    control = await redisClient(redis.url)
    await monitor.monitor((line) => lines.push(String(line)))
  })

  afterAll(async () => {
    for (const app of apps.splice(0)) await app.close()
    await monitor?.destroy()
    await control?.close()
    await db?.close()
    await redis?.kill()
  })

  it('runs a representative request mix without KEYS, FLUSHALL, FLUSHDB or an unbounded SCAN', async () => {
    const env = {
      REDIS_URL: redis.url,
      CACHE_PREFIX: prefix,
      CACHE: 'on',
      HTTP_CACHE: 'on',
      RATE_LIMIT: '100000/1m',
    }
    const a = await serviceApp(db, env)
    const b = await serviceApp(db, env)
    const behind = await serviceApp(
      db,
      { ...env, CACHE_PREFIX: `${prefix}-wb` },
      { plugins: [writeStrategySetup({ strategy: 'behind', redisUrl: redis.url, prefix: `${prefix}:wb` })] },
    )
    apps.push(a, b, behind)
    const token = tokenForUser(SEED, 3)
    const json = (
      app: ServiceApp,
      method: 'POST' | 'PUT' | 'PATCH' | 'DELETE',
      url: string,
      payload?: object,
    ) => app.inject({ method, url, ...(payload ? { payload } : {}) })
    const get = (app: ServiceApp, url: string, headers: Record<string, string> = {}) =>
      app.inject({ method: 'GET', url, headers })

    for (const app of [a, b, a]) {
      for (const url of [
        '/items/1',
        '/items/2',
        '/items?page=1&size=10',
        '/items?category=books&sort=price',
        '/search/items?q=lamp',
        '/users/1',
        '/users/1/posts?page=1&size=5',
        '/static-data',
      ]) {
        expect((await get(app, url)).statusCode, url).toBe(200)
      }
      expect((await get(app, '/me/balance', { authorization: `Bearer ${token}` })).statusCode).toBe(200)
    }
    // Writes: create, replace, patch, conditional write, delete; each invalidates lists and search.
    const created = await json(a, 'POST', '/items', { name: 'audit lamp', category: 'audit', price: 5 })
    expect(created.statusCode).toBe(201)
    const id = created.json<{ id: number }>().id
    expect((await get(b, `/items/${id}`)).statusCode).toBe(200)
    const put = await json(b, 'PUT', `/items/${id}`, {
      name: 'audit lamp 2',
      category: 'audit',
      price: 6,
      description: '',
    })
    expect(put.statusCode).toBe(200)
    expect((await json(a, 'PATCH', `/items/${id}`, { price: 7 })).statusCode).toBe(200)
    expect((await get(a, '/search/items?q=audit')).statusCode).toBe(200)
    expect((await json(a, 'DELETE', `/items/${id}`)).statusCode).toBe(204)
    expect((await get(b, `/items/${id}`)).statusCode).toBe(404)
    // Write-behind: queued writes, read-your-writes, flushed on close.
    const queued = await json(behind, 'POST', '/items', { name: 'queued', category: 'audit', price: 1 })
    expect([201, 202]).toContain(queued.statusCode)
    expect((await json(behind, 'PATCH', '/items/5', { price: 9 })).statusCode).toBeLessThan(300)
    expect((await get(behind, '/items/5')).statusCode).toBe(200)
    // Exports and metrics touch no Redis key, but run them in the mix anyway.
    expect((await get(a, '/export/items.csv?columns=id,name')).statusCode).toBe(200)
    expect((await get(a, '/metrics')).statusCode).toBe(200)
    for (const app of apps.splice(0)) await app.close()

    // Every command sent before this one is in the log once the marker is.
    const marker = `h6-audit-${prefix}`
    await control.sendCommand(['ECHO', marker])
    await until(() => lines.some((line) => line.includes(marker)), 'the MONITOR marker')

    const commands = new Map<string, number>()
    const scans: string[][] = []
    for (const line of lines) {
      const parsed = parseMonitorLine(line)
      if (!parsed || parsed.args.length === 0 || parsed.args.includes(marker)) continue
      const name = (parsed.args[0] as string).toUpperCase()
      const label = parsed.lua ? `${name} (in Lua)` : name
      commands.set(label, (commands.get(label) ?? 0) + 1)
      if (name === 'SCAN' || name === 'SSCAN' || name === 'HSCAN' || name === 'ZSCAN') scans.push(parsed.args)
    }
    const used = [...commands.entries()].sort(([x], [y]) => x.localeCompare(y))
    console.log(
      `Redis commands observed (${lines.length} lines):\n${used.map(([c, n]) => `  ${c} ×${n}`).join('\n')}`,
    )

    expect(commands.size).toBeGreaterThan(5)
    for (const forbidden of ['KEYS', 'FLUSHALL', 'FLUSHDB']) {
      expect(commands.has(forbidden), forbidden).toBe(false)
      expect(commands.has(`${forbidden} (in Lua)`), forbidden).toBe(false)
    }
    for (const scan of scans) expect(scan.map((arg) => arg.toUpperCase())).toContain('COUNT')
  })
})
