import diagnostics from 'node:diagnostics_channel'

import { DB_QUERY_CHANNEL } from './defaults.js'
import { isDbQueryEvent, type DbQueryEvent } from './db-query-event.js'
import { currentRequestContext, type RequestContext } from './request-context.js'

/**
 * Call `listener` for every query published on `hotpath:db:query`, with the context of the request
 * that ran it (when it ran inside one). Returns the function that stops watching.
 *
 * @example
 * const stop = watchQueries((event, request) => {
 *   if (event.durationMs > 100) log.warn({ route: request?.route }, 'slow query')
 * })
 */
export function watchQueries(
  listener: (event: DbQueryEvent, request: RequestContext | undefined) => void,
): () => void {
  const onMessage = (message: unknown) => {
    if (isDbQueryEvent(message)) listener(message, currentRequestContext())
  }
  diagnostics.subscribe(DB_QUERY_CHANNEL, onMessage)
  return () => {
    diagnostics.unsubscribe(DB_QUERY_CHANNEL, onMessage)
  }
}
