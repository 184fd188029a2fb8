/** The real `hotpath` CLI in a child process: config errors, `seed`, and `serve` with SIGTERM. */
import { spawn, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { once } from 'node:events'
import { afterAll, describe, expect, it } from 'vitest'
import { createClient } from 'redis'
import { tokenForUser } from '../../../service/src/auth/token.js'
import { writeBehindKeys } from '../../../src/cache/strategies/defaults.js'
import { hasRedis, REDIS_URL } from '../../helpers/services.js'

const ROOT = path.resolve(import.meta.dirname, '../../..')
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hotpath-cli-'))
const children: ChildProcess[] = []

interface Run {
  child: ChildProcess
  stdout: () => string
  stderr: () => string
  exit: Promise<number | null>
}

function cli(args: string[], env: Record<string, string> = {}): Run {
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(
      ([key]) => !/^(PORT|HOST|DATABASE_URL|REDIS_URL|LOG_LEVEL|SEED.*)$/.test(key),
    ),
  )
  const child = spawn(process.execPath, ['--import', 'tsx', 'cli/hotpath.ts', ...args], {
    cwd: ROOT,
    env: { ...clean, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  children.push(child)
  let stdout = ''
  let stderr = ''
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  const exit = once(child, 'exit').then(([code]) => code as number | null)
  return { child, stdout: () => stdout, stderr: () => stderr, exit }
}

async function waitFor<T>(probe: () => T | undefined, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = probe()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

afterAll(() => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL')
  fs.rmSync(tmp, { recursive: true, force: true })
})

describe('hotpath CLI', () => {
  it.each<{ env: Record<string, string>; args: string[]; names: string }>([
    { env: { PORT: 'abc' }, args: [], names: 'PORT' },
    { env: { LOG_LEVEL: 'loud' }, args: [], names: 'LOG_LEVEL' },
    { env: { DATABASE_URL: 'mysql://localhost/db' }, args: [], names: 'DATABASE_URL' },
    { env: { REDIS_URL: 'http://localhost' }, args: [], names: 'REDIS_URL' },
    { env: { DB_POOL_SIZE: '0' }, args: [], names: 'DB_POOL_SIZE' },
    { env: {}, args: ['--port', '70000'], names: '--port' },
  ])('serve with a bad $names exits 1 with one line naming it', async ({ env, args, names }) => {
    const run = cli(['serve', ...args], env)
    expect(await run.exit).toBe(1)
    const lines = run.stderr().trim().split('\n')
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(new RegExp(`^hotpath: Invalid ${names.replace('-', '\\-')}: got `))
  })

  it('seed fills the database and prints the token of user 1', async () => {
    const file = path.join(tmp, 'seed.db')
    const run = cli([
      'seed',
      '--items',
      '30',
      '--users',
      '5',
      '--posts',
      '10',
      '--seed',
      '3',
      '--database-url',
      `sqlite:${file}`,
      '--no-progress',
    ])
    expect(await run.exit).toBe(0)
    expect(run.stdout()).toContain('Seeded 30 items, 5 users, 10 posts (seed 3)')
    expect(run.stdout()).toContain(tokenForUser(3, 1))
  })

  it('serve seeds an empty database, serves GET /items/1 and exits 0 on SIGTERM', async () => {
    const file = path.join(tmp, 'serve.db')
    const run = cli(['serve', '--port', '0', '--database-url', `sqlite:${file}`], {
      SEED_ITEMS: '40',
      SEED_USERS: '4',
      SEED_POSTS: '8',
      SEED: '9',
    })
    const url = await waitFor(
      () => /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(run.stdout())?.[1],
      'listening line',
    )
    const item = await fetch(`${url}/items/1`)
    expect(item.status).toBe(200)
    expect(await item.json()).toMatchObject({ id: 1, version: 1 })
    const balance = await fetch(`${url}/me/balance`, {
      headers: { authorization: `Bearer ${tokenForUser(9, 2)}` },
    })
    expect(balance.status).toBe(200)
    expect(await balance.json()).toMatchObject({ userId: 2 })
    run.child.kill('SIGTERM')
    expect(await run.exit).toBe(0)
    expect(run.stdout()).toContain('"msg":"stopped"')
    await expect(fetch(`${url}/items/1`)).rejects.toThrow()
  })

  it.runIf(hasRedis)('serve queues write-behind writes under WRITE_BEHIND_PREFIX', async () => {
    const prefix = `hp-cli-wb-${Math.random().toString(36).slice(2, 10)}`
    const keys = writeBehindKeys(prefix, 'items')
    const redis = createClient({ url: REDIS_URL })
    await redis.connect()
    const file = path.join(tmp, 'serve-behind.db')
    const run = cli(['serve', '--workers', '1', '--port', '0', '--database-url', `sqlite:${file}`], {
      SEED_ITEMS: '10',
      SEED_USERS: '2',
      SEED_POSTS: '2',
      REDIS_URL,
      CACHE_PREFIX: prefix,
      WRITE_STRATEGY: 'behind',
      WRITE_BEHIND_PREFIX: prefix,
    })
    try {
      const url = await waitFor(
        () => /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(run.stdout())?.[1],
        'listening line',
      )
      const patched = await fetch(`${url}/items/1`, {
        method: 'PATCH',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'queued under a private prefix' }),
      })
      expect(patched.status).toBeLessThan(300)
      // The write went through the queue named by the prefix, not the shared default one.
      expect(await redis.exists(keys.stream)).toBe(1)
      run.child.kill('SIGTERM')
      expect(await run.exit).toBe(0)
    } finally {
      if (run.child.exitCode === null) run.child.kill('SIGKILL')
      const own: string[] = []
      for await (const batch of redis.scanIterator({ MATCH: `${prefix}*`, COUNT: 100 })) own.push(...batch)
      if (own.length > 0) await redis.unlink(own)
      await redis.quit()
    }
  })
})
