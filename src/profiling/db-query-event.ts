import diagnostics from 'node:diagnostics_channel'

import { DB_QUERY_CHANNEL } from './defaults.js'

/**
 * The message the database layer publishes on the `hotpath:db:query` diagnostics channel for every
 * executed query. It carries the SQL with placeholders and never the parameters.
 */
export interface DbQueryEvent {
  sql: string
  durationMs: number
  dialect: 'sqlite' | 'postgres'
  error?: unknown
}

/** The `hotpath:db:query` channel. */
export const dbQueryChannel = diagnostics.channel(DB_QUERY_CHANNEL)

/**
 * Publish one executed query (what the database layer does; exported for other data layers and tests).
 *
 * @example
 * const started = performance.now()
 * const rows = statement.all(id)
 * publishDbQuery({ sql: statement.source, durationMs: performance.now() - started, dialect: 'sqlite' })
 */
export function publishDbQuery(event: DbQueryEvent): void {
  if (dbQueryChannel.hasSubscribers) dbQueryChannel.publish(event)
}

/** Narrow an unknown channel message to a {@link DbQueryEvent}. */
export function isDbQueryEvent(message: unknown): message is DbQueryEvent {
  if (typeof message !== 'object' || message === null) return false
  const event = message as Partial<DbQueryEvent>
  return typeof event.sql === 'string' && typeof event.durationMs === 'number'
}
