/**
 * The contract between the suite and a bench target: a module exporting
 * `start(port): Promise<{ close(): Promise<void> }>` that listens on 127.0.0.1:`port`.
 */
export interface RunningTarget {
  close(): Promise<void>
}

export type StartTarget = (port: number) => Promise<RunningTarget>
