import { Type, type Static } from '@sinclair/typebox'
import { Page, PageInfo, PageSize } from '../http/common-schemas.js'

export const Post = Type.Object(
  {
    id: Type.Integer(),
    userId: Type.Integer(),
    title: Type.String(),
    body: Type.String(),
    createdAt: Type.String(),
  },
  { additionalProperties: false },
)
export type Post = Static<typeof Post>

/** A post as embedded in a user (`GET /users?include=posts`): no body. */
export const PostSummary = Type.Object(
  { id: Type.Integer(), title: Type.String(), createdAt: Type.String() },
  { additionalProperties: false },
)
export type PostSummary = Static<typeof PostSummary>

export const PostListQuery = Type.Object(
  { page: Type.Optional(Page), size: Type.Optional(PageSize) },
  { additionalProperties: false },
)
export type PostListQuery = Static<typeof PostListQuery>

export const PostList = Type.Object({ data: Type.Array(Post), ...PageInfo }, { additionalProperties: false })
export type PostList = Static<typeof PostList>
