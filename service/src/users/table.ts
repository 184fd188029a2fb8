import type { Generated } from 'kysely'

/** The `users` table. Only a SHA-256 hash of a user's API token is stored. */
export interface UsersTable {
  id: Generated<number>
  name: string
  email: string
  api_token_hash: string
  balance_cents: number
  created_at: string
}
