/** The part of pg-cursor's `Cursor` the fix needs (typed by shape: `pg-cursor` stays optional). */
export interface PgCursorLike {
  close(callback?: (error: Error) => void): Promise<void> | undefined
}

// A TypeScript mixin must take its base constructor's arguments as `any[]`.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type CursorClass = new (...args: any[]) => PgCursorLike

/**
 * Fix pg-cursor for exports: after the connection under a cursor dies (backend terminated,
 * network cut), `cursor.close()` waits forever for a `ReadyForQuery` that will never come. Kysely
 * awaits that close before it releases the connection, so the export would hang, holding its pool
 * slot, and never end its response. The subclass this returns settles `close()` at once when the
 * cursor is already in error (the server drops the portal on any error, so there is nothing to
 * close). Give it to Kysely's dialect instead of the plain class.
 *
 * @example
 * import Cursor from 'pg-cursor'
 * new PostgresDialect({ pool, cursor: withSettlingClose(Cursor) })
 */
export function withSettlingClose<C extends CursorClass>(Cursor: C): C {
  return class SettlingCloseCursor extends Cursor {
    override close(callback?: (error: Error) => void): Promise<void> | undefined {
      // `state` is pg-cursor's internal state machine ('idle', 'busy', 'error', 'done'…).
      const cursor = this as unknown as { state: string }
      if (cursor.state !== 'error') return super.close(callback)
      cursor.state = 'done'
      if (callback) {
        setImmediate(() => callback(undefined as unknown as Error))
        return undefined
      }
      return Promise.resolve()
    }
  }
}
