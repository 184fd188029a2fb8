/** Defaults of the write strategies, in one place. */
export const DEFAULT_WRITE_BEHIND_PREFIX = 'hotpath:wb'
export const DEFAULT_WRITE_BEHIND_NAME = 'default'
export const DEFAULT_WRITE_BEHIND_GROUP = 'flushers'
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379'
export const DEFAULT_MAX_PENDING = 100_000
export const DEFAULT_BATCH_SIZE = 500
/** Lua unpack() and one SQL transaction both stay comfortable below this. */
export const MAX_BATCH_SIZE = 5_000
export const DEFAULT_BLOCK = 200
export const DEFAULT_MAX_ATTEMPTS = 5
export const DEFAULT_RETRY_DELAY = 100
export const DEFAULT_MAX_RETRY_DELAY = 5_000
export const DEFAULT_CLAIM_IDLE = 30_000
export const DEFAULT_CLAIM_INTERVAL = 5_000
export const DEFAULT_STRATEGY_TIMEOUT = 2_000
export const DEFAULT_WAIT_TIMEOUT = 1_000
export const DEFAULT_DRAIN_TIMEOUT = 30_000
export const DEFAULT_MAX_DEAD_LETTERS = 100_000
export const DEFAULT_RETRY_AFTER = 1
/** Window of the flushed-per-second rate. */
export const RATE_WINDOW_MS = 10_000

/** Redis keys of one write-behind queue; the hash tag keeps them in one cluster slot. */
export interface WriteBehindKeys {
  readonly stream: string
  readonly pending: string
  readonly versions: string
  readonly deadLetters: string
}

export function writeBehindKeys(prefix: string, name: string): WriteBehindKeys {
  const base = `${prefix}:{${name}}`
  return Object.freeze({
    stream: `${base}:stream`,
    pending: `${base}:pending`,
    versions: `${base}:versions`,
    deadLetters: `${base}:dlq`,
  })
}
