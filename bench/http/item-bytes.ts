/**
 * Precomputed response bytes for the bench items, filled lazily from the bench database: what the
 * "bare" targets serve, so they measure the framework and nothing else.
 */
import { openItemsDb } from '../lib/items-db.js'
import type { ItemsDb } from '../lib/items-db.js'

export interface ItemBytes {
  /** JSON bytes of item `id`, or undefined when there is no such item. */
  get(id: number): Buffer | undefined
  close(): void
}

export function openItemBytes(db: ItemsDb = openItemsDb()): ItemBytes {
  const bytes = new Map<number, Buffer>()
  return {
    get(id) {
      let body = bytes.get(id)
      if (body === undefined) {
        const item = db.get(id)
        if (!item) return undefined
        body = Buffer.from(JSON.stringify(item))
        bytes.set(id, body)
      }
      return body
    },
    close: () => db.close(),
  }
}

/** `/items/<positive integer>` → the id, else undefined. */
export function itemIdOf(url: string): number | undefined {
  const match = /^\/items\/([1-9]\d{0,9})(?:\?|$)/.exec(url)
  return match ? Number(match[1]) : undefined
}
