import type { Generated } from 'kysely'

/** The `items` table. `price` is in cents; timestamps are ISO-8601 strings on both dialects. */
export interface ItemsTable {
  id: Generated<number>
  name: string
  category: string
  price: number
  description: string
  updated_at: string
  version: number
}
