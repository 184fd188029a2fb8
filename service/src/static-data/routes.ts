import { Type, type Static } from '@sinclair/typebox'
import type { ServiceApp } from '../context.js'
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, NoQuery } from '../http/common-schemas.js'
import { errorResponses } from '../http/error-schema.js'
import { ITEM_SORTS } from '../items/schemas.js'
import { CATEGORIES } from '../seed-data.js'

export const StaticData = Type.Object(
  {
    categories: Type.Array(Type.String()),
    itemSorts: Type.Array(Type.String()),
    currency: Type.String(),
    pageSize: Type.Object({ default: Type.Integer(), max: Type.Integer() }, { additionalProperties: false }),
  },
  { additionalProperties: false },
)
export type StaticData = Static<typeof StaticData>

/** Reference data that never changes while the process runs: the ideal cache candidate. */
const STATIC_DATA: StaticData = Object.freeze({
  categories: [...CATEGORIES],
  itemSorts: [...ITEM_SORTS],
  currency: 'EUR',
  pageSize: { default: DEFAULT_PAGE_SIZE, max: MAX_PAGE_SIZE },
})

/** `GET /static-data`. */
export function registerStaticDataRoutes(app: ServiceApp): void {
  app.get(
    '/static-data',
    {
      schema: { querystring: NoQuery, response: { 200: StaticData, ...errorResponses(400) } },
      config: { httpCache: { policy: { scope: 'public', maxAge: '1h' }, private: false } },
    },
    async () => STATIC_DATA,
  )
}
