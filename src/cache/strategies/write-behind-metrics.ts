import { Counter, Gauge, type Registry } from 'prom-client'
import type { WriteBehindStats } from './write-behind.js'

/** What {@link registerWriteBehindMetrics} reads (typed by shape: any write-behind queue). */
export interface WriteBehindStatsSource {
  readonly options: { readonly name: string }
  stats(): Promise<WriteBehindStats>
}

const COUNTERS = [
  ['flushed', 'hotpath_write_behind_flushed_total', 'Writes this instance flushed to the database.'],
  ['retries', 'hotpath_write_behind_retries_total', 'Failed flush attempts that were retried.'],
  [
    'deadLettered',
    'hotpath_write_behind_dead_lettered_total',
    'Writes this instance moved to the dead letters.',
  ],
  ['refused', 'hotpath_write_behind_refused_total', 'Writes refused because the queue was full.'],
] as const

/**
 * Expose a write-behind queue's stats in a prom-client registry, read at scrape time (one
 * `stats()` call per scrape): pending writes, flush lag, dead letters, and counters of flushed,
 * retried, dead-lettered and refused writes, labelled by queue name.
 *
 * @example
 * registerWriteBehindMetrics(writes, metrics.registry)
 * // hotpath_write_behind_pending{queue="items"} 12
 */
export function registerWriteBehindMetrics(source: WriteBehindStatsSource, registry: Registry): void {
  const queue = source.options.name
  let snapshot: Promise<WriteBehindStats> | undefined
  // Every metric's collect() runs in one scrape: they share one stats() round trip.
  const read = (): Promise<WriteBehindStats> => {
    snapshot ??= source.stats().finally(() => setImmediate(() => (snapshot = undefined)))
    return snapshot
  }
  const gauge = (name: string, help: string, pick: (stats: WriteBehindStats) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['queue'],
      registers: [registry],
      // Queue-wide figures every instance reads alike: merged across cluster workers, not summed.
      aggregator: 'max',
      async collect() {
        this.set({ queue }, pick(await read()))
      },
    })
  gauge(
    'hotpath_write_behind_pending',
    'Writes accepted but not yet in the database (all instances).',
    (s) => s.pending,
  )
  gauge(
    'hotpath_write_behind_lag_seconds',
    'Age of the oldest write not yet in the database.',
    (s) => s.lagMs / 1000,
  )
  gauge(
    'hotpath_write_behind_dead_letters',
    'Writes waiting in the dead-letter stream.',
    (s) => s.deadLetters,
  )
  for (const [field, name, help] of COUNTERS) {
    let seen = 0
    const counter = new Counter({
      name,
      help,
      labelNames: ['queue'],
      registers: [registry],
      async collect() {
        const value = (await read())[field]
        if (value > seen) this.inc({ queue }, value - seen)
        seen = value
      },
    })
    counter.inc({ queue }, 0)
  }
}
