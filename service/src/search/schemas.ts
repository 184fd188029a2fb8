import { Type, type Static } from '@sinclair/typebox'
import { Text } from '../http/common-schemas.js'
import { Item } from '../items/schemas.js'

export const DEFAULT_SEARCH_LIMIT = 20
export const MAX_SEARCH_LIMIT = 50

export const SearchQuery = Type.Object(
  {
    q: Text(100),
    limit: Type.Optional(
      Type.Integer({ minimum: 1, maximum: MAX_SEARCH_LIMIT, default: DEFAULT_SEARCH_LIMIT }),
    ),
  },
  { additionalProperties: false },
)
export type SearchQuery = Static<typeof SearchQuery>

export const SearchResult = Type.Object(
  { query: Type.String(), data: Type.Array(Item) },
  { additionalProperties: false },
)
export type SearchResult = Static<typeof SearchResult>
