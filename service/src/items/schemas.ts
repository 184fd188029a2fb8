import { Type, type Static } from '@sinclair/typebox'
import { AnyText, Page, PageInfo, PageSize, Text } from '../http/common-schemas.js'

export const ITEM_SORTS = [
  'id',
  '-id',
  'price',
  '-price',
  'name',
  '-name',
  'updated_at',
  '-updated_at',
] as const
export type ItemSort = (typeof ITEM_SORTS)[number]

const MAX_PRICE = 1_000_000_000

/** An item as the API shows it. `price` is in cents. */
export const Item = Type.Object(
  {
    id: Type.Integer(),
    name: Type.String(),
    category: Type.String(),
    price: Type.Integer(),
    description: Type.String(),
    updatedAt: Type.String(),
    version: Type.Integer(),
  },
  { additionalProperties: false },
)
export type Item = Static<typeof Item>

const fields = {
  name: Text(200),
  category: Text(100),
  price: Type.Integer({ minimum: 0, maximum: MAX_PRICE }),
  description: AnyText(5_000),
}

/** `POST /items`: description may be left out (empty). */
export const NewItemBody = Type.Object(
  {
    name: fields.name,
    category: fields.category,
    price: fields.price,
    description: Type.Optional(fields.description),
  },
  { additionalProperties: false },
)
export type NewItemBody = Static<typeof NewItemBody>

/** `PUT /items/:id`: a full replacement, every field required. */
export const ReplaceItemBody = Type.Object(fields, { additionalProperties: false })
export type ReplaceItemBody = Static<typeof ReplaceItemBody>

/** `PATCH /items/:id`: any non-empty subset of the fields. */
export const PatchItemBody = Type.Partial(Type.Object(fields), {
  additionalProperties: false,
  minProperties: 1,
})
export type PatchItemBody = Static<typeof PatchItemBody>

export const ItemListQuery = Type.Object(
  {
    page: Type.Optional(Page),
    size: Type.Optional(PageSize),
    category: Type.Optional(Text(100)),
    sort: Type.Optional(Type.Union(ITEM_SORTS.map((sort) => Type.Literal(sort)))),
  },
  { additionalProperties: false },
)
export type ItemListQuery = Static<typeof ItemListQuery>

export const ItemList = Type.Object({ data: Type.Array(Item), ...PageInfo }, { additionalProperties: false })
export type ItemList = Static<typeof ItemList>
