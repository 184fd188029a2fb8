import { streamIdTime } from './coalesce.js'
import type { WriteBehindKeys } from './defaults.js'
import { call, evalScript, type StrategyRedisClient } from './redis-commands.js'
import { WRITE_SCRIPT } from './write-behind-scripts.js'

/** A write that failed `maxAttempts` times and was set aside. */
export interface DeadLetter {
  /** Id of the dead-letter stream entry. */
  readonly deadLetterId: string
  readonly key: string
  readonly op: 'upsert' | 'delete'
  readonly version: number
  readonly id: unknown
  /** The encoded entity (`''` for a delete). */
  readonly body: string
  readonly error: string
  readonly attempts: number
  /** Epoch ms when it was dead-lettered. */
  readonly failedAt: number
  /** Id of the original write-behind stream entry. */
  readonly streamId: string
}

export interface ReplayResult {
  /** Put back into the write-behind stream (and removed from the dead letters). */
  readonly replayed: number
  /** Dropped: a newer write for the same key was accepted since. */
  readonly superseded: number
  /** Left in place because the write-behind queue is full. */
  readonly refused: number
}

/**
 * The dead letters of one write-behind queue: list them, replay them into the queue (with their
 * original version, so a newer write still wins) or drop them. Used by `hotpath writes dlq`.
 *
 * @example
 * const dlq = new DeadLetters(client, writeBehindKeys('hotpath:wb', 'items'))
 * for (const letter of await dlq.list(20)) console.log(letter.key, letter.error)
 * await dlq.replay()
 */
export class DeadLetters {
  readonly #client: StrategyRedisClient
  readonly #keys: WriteBehindKeys
  readonly #timeout: number

  constructor(client: StrategyRedisClient, keys: WriteBehindKeys, timeoutMs = 5_000) {
    this.#client = client
    this.#keys = keys
    this.#timeout = timeoutMs
  }

  async count(): Promise<number> {
    return Number(
      await call<number>(this.#client, ['XLEN', this.#keys.deadLetters], this.#timeout, 'dlq count'),
    )
  }

  /** The oldest `count` dead letters, oldest first. */
  async list(count = 100): Promise<DeadLetter[]> {
    const reply = await call<[string, string[]][]>(
      this.#client,
      ['XRANGE', this.#keys.deadLetters, '-', '+', 'COUNT', String(count)],
      this.#timeout,
      'dlq list',
    )
    return reply.map(([deadLetterId, fields]) => parseDeadLetter(deadLetterId, fields))
  }

  /**
   * Put dead letters back into the write-behind queue (all, or the given dead-letter ids).
   * Each keeps its version: one superseded by a newer accepted write is dropped, not replayed.
   */
  async replay(ids?: readonly string[], maxPending = Number.MAX_SAFE_INTEGER): Promise<ReplayResult> {
    const letters = ids === undefined ? await this.#all() : await this.#byIds(ids)
    let replayed = 0
    let superseded = 0
    let refused = 0
    for (const letter of letters) {
      const result = await evalScript<[number, number | string, string?]>(
        this.#client,
        WRITE_SCRIPT,
        [this.#keys.stream, this.#keys.pending, this.#keys.versions],
        [
          letter.key,
          letter.op === 'delete' ? 'd' : 'u',
          letter.body,
          String(letter.version),
          String(maxPending),
          JSON.stringify(letter.id),
          'replay',
        ],
        this.#timeout,
        'dlq replay',
      )
      const status = Number(result[0])
      if (status === -1) {
        refused++
        continue
      }
      if (status === 1) replayed++
      else superseded++
      await call(
        this.#client,
        ['XDEL', this.#keys.deadLetters, letter.deadLetterId],
        this.#timeout,
        'dlq replay',
      )
    }
    return { replayed, superseded, refused }
  }

  /** Remove dead letters for good (all, or the given ids). Returns how many were removed. */
  async drop(ids?: readonly string[]): Promise<number> {
    const targets = ids ?? (await this.#all()).map((letter) => letter.deadLetterId)
    if (targets.length === 0) return 0
    return Number(
      await call<number>(
        this.#client,
        ['XDEL', this.#keys.deadLetters, ...targets],
        this.#timeout,
        'dlq drop',
      ),
    )
  }

  async #all(): Promise<DeadLetter[]> {
    const all: DeadLetter[] = []
    let start = '-'
    for (;;) {
      const reply = await call<[string, string[]][]>(
        this.#client,
        ['XRANGE', this.#keys.deadLetters, start, '+', 'COUNT', '1000'],
        this.#timeout,
        'dlq list',
      )
      for (const [deadLetterId, fields] of reply) all.push(parseDeadLetter(deadLetterId, fields))
      const last = reply.at(-1)
      if (reply.length < 1000 || last === undefined) return all
      start = `(${last[0]}`
    }
  }

  async #byIds(ids: readonly string[]): Promise<DeadLetter[]> {
    const letters: DeadLetter[] = []
    for (const id of ids) {
      const reply = await call<[string, string[]][]>(
        this.#client,
        ['XRANGE', this.#keys.deadLetters, id, id],
        this.#timeout,
        'dlq list',
      )
      const entry = reply[0]
      if (entry !== undefined) letters.push(parseDeadLetter(entry[0], entry[1]))
    }
    return letters
  }
}

function fieldMap(fields: readonly string[]): Map<string, string> {
  const map = new Map<string, string>()
  for (let i = 0; i + 1 < fields.length; i += 2) map.set(fields[i] as string, fields[i + 1] as string)
  return map
}

function parseDeadLetter(deadLetterId: string, fields: readonly string[]): DeadLetter {
  const map = fieldMap(fields)
  let id: unknown
  try {
    id = JSON.parse(map.get('i') ?? 'null')
  } catch {
    id = map.get('i')
  }
  return {
    deadLetterId,
    key: map.get('k') ?? '',
    op: map.get('o') === 'd' ? 'delete' : 'upsert',
    version: Number(map.get('v') ?? 0),
    id,
    body: map.get('b') ?? '',
    error: map.get('e') ?? '',
    attempts: Number(map.get('n') ?? 0),
    failedAt: streamIdTime(deadLetterId),
    streamId: map.get('s') ?? '',
  }
}

export { fieldMap }
