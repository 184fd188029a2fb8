/** The message the primary sends a worker to make it stop gracefully (drain, close, exit 0). */
export const STOP_MESSAGE = 'hotpath:stop'

export function isStopMessage(message: unknown): boolean {
  return (
    typeof message === 'object' && message !== null && (message as { cmd?: unknown }).cmd === STOP_MESSAGE
  )
}
