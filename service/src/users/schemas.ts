import { Type, type Static } from '@sinclair/typebox'
import { Page, PageInfo, PageSize } from '../http/common-schemas.js'
import { PostSummary } from '../posts/schemas.js'

export const User = Type.Object(
  { id: Type.Integer(), name: Type.String(), email: Type.String(), createdAt: Type.String() },
  { additionalProperties: false },
)
export type User = Static<typeof User>

export const UserWithPosts = Type.Object(
  {
    id: Type.Integer(),
    name: Type.String(),
    email: Type.String(),
    createdAt: Type.String(),
    posts: Type.Optional(Type.Array(PostSummary)),
  },
  { additionalProperties: false },
)
export type UserWithPosts = Static<typeof UserWithPosts>

export const USER_INCLUDES = ['posts'] as const
/** How `include=posts` loads the posts: one query per user (the N+1 case) or one for the page. */
export const INCLUDE_STRATEGIES = ['naive', 'batched'] as const

export const UserListQuery = Type.Object(
  {
    page: Type.Optional(Page),
    size: Type.Optional(PageSize),
    include: Type.Optional(Type.Union(USER_INCLUDES.map((value) => Type.Literal(value)))),
    strategy: Type.Optional(Type.Union(INCLUDE_STRATEGIES.map((value) => Type.Literal(value)))),
  },
  { additionalProperties: false },
)
export type UserListQuery = Static<typeof UserListQuery>

export const UserList = Type.Object(
  { data: Type.Array(UserWithPosts), ...PageInfo },
  { additionalProperties: false },
)
export type UserList = Static<typeof UserList>
