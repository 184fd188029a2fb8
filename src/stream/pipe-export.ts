import type { Readable, Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'

import { isPrematureClose } from './content-encoding.js'

/** How an export ended. */
export type ExportOutcome = 'completed' | 'aborted' | 'failed'

export interface PipeExportOptions {
  /**
   * Aborting stops the export and releases its source.
   * @default undefined
   */
  signal?: AbortSignal
  /** Called with the error of a failed export (a mid-stream database error, a disk full…). */
  onError?: (error: Error) => void
}

/**
 * Pipe an export into a destination (an `http.ServerResponse`, a file) with `stream.pipeline`:
 * backpressure end to end, and on a consumer that goes away or an error every stream is destroyed,
 * which releases the source (cursor closed, connection back in the pool). A failed HTTP response is
 * cut off rather than ended normally, so the client cannot mistake a truncated file for a whole one.
 * Never rejects: the outcome says what happened.
 *
 * @example
 * http.createServer(async (req, res) => {
 *   res.setHeader('content-type', 'text/csv; charset=utf-8')
 *   await pipeExport(toCsv(db.selectFrom('items').selectAll().stream(1000), ['id', 'name']), res, { onError: console.error })
 * })
 */
export async function pipeExport(
  body: Readable,
  destination: Writable,
  options: PipeExportOptions = {},
): Promise<ExportOutcome> {
  try {
    await pipeline(body, destination, options.signal ? { signal: options.signal } : {})
    return 'completed'
  } catch (error) {
    if (options.signal?.aborted || isPrematureClose(error)) return 'aborted'
    options.onError?.(error as Error)
    return 'failed'
  }
}
