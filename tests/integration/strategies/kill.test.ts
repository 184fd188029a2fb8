import { spawn, type ChildProcess } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { createClient } from 'redis'
import { afterAll, describe, expect, it } from 'vitest'
import { writeBehindKeys } from '../../../src/cache/strategies/defaults.js'
import { hasRedis, REDIS_URL } from '../../helpers/services.js'
import { BACKENDS, createTestDatabase, seedItems } from './support/databases.js'

const WORKER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'support', 'kill-worker.ts')
const ITEMS = 60
const CYCLES = 6
/** Acknowledged writes the run must reach (more cycles run until it does, up to MAX_CYCLES). */
const MIN_ACKS = 200
const MAX_CYCLES = 30
const CONCURRENCY = 12

interface Ack {
  id: number
  version: number
  name: string
}

function startWorker(env: Record<string, string>): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', WORKER], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  return new Promise((resolve, reject) => {
    let out = ''
    let err = ''
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString()
      const match = /PORT (\d+)/.exec(out)
      if (match) resolve({ child, port: Number(match[1]) })
    })
    child.stderr?.on('data', (chunk: Buffer) => (err += chunk.toString()))
    child.once('exit', (code, signal) =>
      reject(new Error(`worker exited (${code ?? signal}) before listening: ${err}`)),
    )
  })
}

const exited = (child: ChildProcess) =>
  new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve()
    else child.once('exit', () => resolve())
  })

/** PUT random items until `stop` resolves or the worker dies; record every acknowledged write. */
async function hammer(
  port: number,
  acks: Ack[],
  stop: Promise<void>,
  sequence: { next: number },
): Promise<void> {
  let stopped = false
  void stop.then(() => (stopped = true))
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (!stopped) {
        const id = 1 + Math.floor(Math.random() * ITEMS)
        const name = `w${sequence.next++}`
        try {
          const response = await fetch(`http://127.0.0.1:${port}/items/${id}`, {
            method: 'PUT',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ name, category: 'k', price: 1, description: '' }),
          })
          if (response.status === 200) {
            const item = (await response.json()) as Ack
            acks.push({ id: item.id, version: item.version, name: item.name })
          } else {
            await response.arrayBuffer()
          }
        } catch {
          // The worker died mid-request: this write was never acknowledged.
          return
        }
      }
    }),
  )
}

for (const backend of BACKENDS) {
  describe.runIf(hasRedis && backend.available)(`write-behind kill test on ${backend.dialect}`, () => {
    const prefix = `test:strategies:kill:${randomUUID().slice(0, 8)}`
    const admin = createClient({ url: REDIS_URL })
    const children: ChildProcess[] = []

    afterAll(async () => {
      for (const child of children) child.kill('SIGKILL')
      if (admin.isOpen) {
        const keys = await admin.keys(`${prefix}*`)
        if (keys.length > 0) await admin.del(keys)
        admin.destroy()
      }
    })

    it('keeps every acknowledged write across SIGKILLs (also between commit and XACK)', async () => {
      await admin.connect()
      const target = await createTestDatabase(backend.dialect)
      try {
        const seeded = await target.open()
        await seedItems(seeded, ITEMS)
        await seeded.close()
        const env = {
          DATABASE_URL: target.url,
          REDIS_URL,
          WB_PREFIX: prefix,
          WB_CONSUMER: 'kill-worker',
          KILL_AFTER_COMMIT: '0.03',
        }
        const acks: Ack[] = []
        const sequence = { next: 0 }
        let kills = 0
        let selfKills = 0
        // At least CYCLES kills and enough acknowledged writes to mean something: a slow machine
        // (or early self-kills) gets more cycles rather than a weaker test.
        for (let cycle = 0; cycle < CYCLES || acks.length <= MIN_ACKS; cycle++) {
          if (cycle >= MAX_CYCLES)
            throw new Error(`only ${acks.length} writes acknowledged in ${cycle} cycles`)
          // The worker drains its own pending writes before it listens, and may kill itself right
          // after one of those commits too: that is one more crash, so start it again.
          let started: { child: ChildProcess; port: number } | undefined
          for (let attempt = 0; started === undefined; attempt++) {
            try {
              started = await startWorker(env)
            } catch (error) {
              if (attempt >= 20) throw error
              selfKills++
            }
          }
          const { child, port } = started
          children.push(child)
          const died = exited(child)
          const killAt = new Promise<void>((resolve) => setTimeout(resolve, 800 + Math.random() * 900))
          void killAt.then(() => child.kill('SIGKILL'))
          await hammer(port, acks, Promise.race([killAt, died]), sequence)
          if (child.signalCode !== null) selfKills++
          child.kill('SIGKILL')
          await died
          kills++
        }
        // The last start drains the queue: its own pending writes first, then the rest.
        const { child } = await startWorker({ ...env, KILL_AFTER_COMMIT: '0' })
        children.push(child)
        const keys = writeBehindKeys(prefix, 'items')
        await expect
          .poll(
            async () =>
              Number(await admin.sendCommand(['XLEN', keys.stream])) + (await admin.hLen(keys.pending)),
            {
              timeout: 30_000,
              interval: 100,
            },
          )
          .toBe(0)
        child.kill('SIGTERM')
        await exited(child)

        expect(kills).toBeGreaterThanOrEqual(CYCLES)
        expect(acks.length).toBeGreaterThan(MIN_ACKS)
        console.info(
          `kill test on ${backend.dialect}: ${acks.length} acknowledged writes, ${kills} kills (${selfKills} right after a commit)`,
        )
        const last = new Map<number, Ack>()
        const seen = new Set<string>()
        for (const ack of acks) {
          // Versions are never handed out twice for one item, crash or not.
          expect(seen.has(`${ack.id}:${ack.version}`)).toBe(false)
          seen.add(`${ack.id}:${ack.version}`)
          const previous = last.get(ack.id)
          if (previous === undefined || ack.version > previous.version) last.set(ack.id, ack)
        }
        const database = await target.open()
        try {
          const rows = await database.db.selectFrom('items').select(['id', 'name', 'version']).execute()
          const byId = new Map(rows.map((row) => [row.id, row]))
          let exact = 0
          for (const ack of last.values()) {
            const row = byId.get(ack.id)
            expect(row, `item ${ack.id}`).toBeDefined()
            // A later write may have become durable without its reply reaching the client.
            expect(row?.version).toBeGreaterThanOrEqual(ack.version)
            if (row?.version === ack.version) {
              expect(row.name).toBe(ack.name)
              exact++
            }
          }
          expect(exact).toBeGreaterThan(last.size / 2)
        } finally {
          await database.close()
        }
      } finally {
        await target.drop()
      }
    })
  })
}
