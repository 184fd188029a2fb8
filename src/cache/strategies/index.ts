/** Write strategies (re-exported from `hotpath`): write-through and durable write-behind. */
export { createWriteThrough, WriteThrough } from './write-through.js'
export type { WriteThroughEvents, WriteThroughOptions } from './write-through.js'
export { createWriteBehind, WriteBehind, resolveWriteBehindOptions } from './write-behind.js'
export type {
  PendingWrite,
  ResolvedWriteBehindOptions,
  WriteBehindEventName,
  WriteBehindEvents,
  WriteBehindOptions,
  WriteBehindStats,
  WriteOptions,
} from './write-behind.js'
export { registerWriteBehindMetrics } from './write-behind-metrics.js'
export type { WriteBehindStatsSource } from './write-behind-metrics.js'
export { DeadLetters } from './dead-letters.js'
export type { DeadLetter, ReplayResult } from './dead-letters.js'
export { writeBehindKeys } from './defaults.js'
export type { WriteBehindKeys } from './defaults.js'
export { isTransientError } from './transient-error.js'
export type { VersionedDelete, WriteBatch, WriteId, WriteRepository } from './repository.js'
