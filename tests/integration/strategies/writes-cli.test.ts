import { randomUUID } from 'node:crypto'
import { Command } from 'commander'
import { createClient } from 'redis'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { registerWritesCommand } from '../../../cli/commands/writes.js'
import { createWriteBehind } from '../../../src/cache/strategies/write-behind.js'
import { hasRedis, REDIS_URL } from '../../helpers/services.js'
import { MemoryRepository, type Row } from './support/memory-repository.js'

async function run(...args: string[]): Promise<string> {
  const program = new Command('hotpath').exitOverride()
  registerWritesCommand(program)
  const chunks: string[] = []
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    chunks.push(String(chunk))
    return true
  })
  try {
    await program.parseAsync(['node', 'hotpath', ...args])
  } finally {
    spy.mockRestore()
  }
  return chunks.join('')
}

describe.runIf(hasRedis)('hotpath writes dlq', () => {
  const prefix = `test:strategies:cli:${randomUUID().slice(0, 8)}`
  const admin = createClient({ url: REDIS_URL })
  const repository = new MemoryRepository()
  const writes = createWriteBehind<Row, number>(repository, {
    url: REDIS_URL,
    prefix,
    name: 'items',
    maxAttempts: 1,
    block: 50,
    retryDelay: 10,
  })
  const flags = ['--redis-url', REDIS_URL, '--prefix', prefix, '--queue', 'items']

  beforeAll(async () => {
    await admin.connect()
    repository.poison.add(1)
    repository.poison.add(2)
    await writes.write({ id: 1, name: 'one', version: 0 })
    await writes.write({ id: 2, name: 'two', version: 0 })
    await writes.flush()
  })

  afterAll(async () => {
    await writes.close()
    const keys = await admin.keys(`${prefix}*`)
    if (keys.length > 0) await admin.del(keys)
    admin.destroy()
  })

  it('reports the queue: pending writes, lag, dead letters, flushers', async () => {
    const stats = JSON.parse(await run('writes', 'stats', '--json', ...flags)) as Record<string, unknown>
    expect(stats).toMatchObject({ queue: 'items', pending: 0, lagMs: 0, deadLetters: 2 })
    expect(stats.flushers).toEqual([{ group: 'flushers', consumers: 1, taken: 0 }])
    expect(await run('writes', 'stats', ...flags)).toContain(
      'queue items: 0 pending (oldest 0 ms), 2 dead letters',
    )
  })

  it('lists dead letters as text and as JSON lines', async () => {
    const text = await run('writes', 'dlq', 'list', ...flags)
    expect(text).toMatch(/upsert 1 v1 {2}after 1 attempts: constraint violated by row 1/)
    expect(text).toContain('2 dead letters')
    const json = (await run('writes', 'dlq', 'list', '--json', '--count', '1', ...flags)).trim().split('\n')
    expect(json).toHaveLength(1)
    expect(JSON.parse(json[0] as string)).toMatchObject({ key: '1', op: 'upsert', version: 1, id: 1 })
  })

  it('replays one dead letter by id and drops the rest', async () => {
    const [first] = await writes.deadLetters.list(1)
    repository.poison.clear()
    expect(await run('writes', 'dlq', 'replay', first?.deadLetterId as string, ...flags)).toContain(
      'replayed 1,',
    )
    await writes.flush()
    expect(repository.rows.get(1)).toEqual({ id: 1, name: 'one', version: 1 })
    expect(await run('writes', 'dlq', 'drop', ...flags)).toBe('dropped 1 dead letter\n')
    expect(await writes.deadLetters.count()).toBe(0)
    expect(repository.rows.has(2)).toBe(false)
  })
})
