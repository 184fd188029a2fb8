import diagnosticsChannel from 'node:diagnostics_channel'
import type { LogEvent } from 'kysely'
import type { Dialect } from './database.js'

/** Name of the `node:diagnostics_channel` every executed SQL query is published on. */
export const DB_QUERY_CHANNEL = 'hotpath:db:query'

/** The message published on {@link DB_QUERY_CHANNEL}. Parameters are never published. */
export interface DbQueryMessage {
  sql: string
  durationMs: number
  dialect: Dialect
  error?: unknown
}

/**
 * A Kysely `log` callback that publishes each query on {@link DB_QUERY_CHANNEL}. It costs one
 * property read per query while nobody subscribes.
 *
 * @example
 * import diagnosticsChannel from 'node:diagnostics_channel'
 * diagnosticsChannel.subscribe('hotpath:db:query', (message) => console.log(message))
 */
export function createQueryPublisher(dialect: Dialect): (event: LogEvent) => void {
  const channel = diagnosticsChannel.channel(DB_QUERY_CHANNEL)
  return (event) => {
    if (!channel.hasSubscribers) return
    const message: DbQueryMessage = { sql: event.query.sql, durationMs: event.queryDurationMillis, dialect }
    if (event.level === 'error') message.error = event.error
    channel.publish(message)
  }
}
