import { Type } from '@sinclair/typebox'
import { NotFoundError } from '../errors.js'
import type { Repositories, ServiceApp } from '../context.js'
import { DEFAULT_PAGE_SIZE, IdParams, NoQuery } from '../http/common-schemas.js'
import { errorResponses } from '../http/error-schema.js'
import { Item, ItemList, ItemListQuery, NewItemBody, PatchItemBody, ReplaceItemBody } from './schemas.js'

/** `GET/POST /items`, `GET/PUT/PATCH/DELETE /items/:id`. */
export function registerItemsRoutes(app: ServiceApp, items: Repositories['items']): void {
  app.get(
    '/items',
    { schema: { querystring: ItemListQuery, response: { 200: ItemList, ...errorResponses(400) } } },
    async (request) => {
      const { page = 1, size = DEFAULT_PAGE_SIZE, category, sort } = request.query
      const result = await items.list({ page, size, category, sort })
      return { data: result.items, page, size, hasMore: result.hasMore }
    },
  )

  app.post(
    '/items',
    {
      schema: {
        querystring: NoQuery,
        body: NewItemBody,
        response: { 201: Item, ...errorResponses(400, 413, 415) },
      },
    },
    async (request, reply) => {
      const item = await items.create(request.body)
      return reply.code(201).header('location', `/items/${item.id}`).send(item)
    },
  )

  app.get(
    '/items/:id',
    {
      schema: {
        params: IdParams,
        querystring: NoQuery,
        response: { 200: Item, ...errorResponses(400, 404) },
      },
    },
    async (request) => {
      const item = await items.findById(request.params.id)
      if (item === undefined) throw new NotFoundError('Item', request.params.id)
      return item
    },
  )

  app.put(
    '/items/:id',
    {
      schema: {
        params: IdParams,
        querystring: NoQuery,
        body: ReplaceItemBody,
        response: { 200: Item, ...errorResponses(400, 404, 413, 415) },
      },
    },
    async (request) => {
      const item = await items.replace(request.params.id, request.body)
      if (item === undefined) throw new NotFoundError('Item', request.params.id)
      return item
    },
  )

  app.patch(
    '/items/:id',
    {
      schema: {
        params: IdParams,
        querystring: NoQuery,
        body: PatchItemBody,
        response: { 200: Item, ...errorResponses(400, 404, 413, 415) },
      },
    },
    async (request) => {
      const item = await items.patch(request.params.id, request.body)
      if (item === undefined) throw new NotFoundError('Item', request.params.id)
      return item
    },
  )

  app.delete(
    '/items/:id',
    {
      schema: {
        params: IdParams,
        querystring: NoQuery,
        response: { 204: Type.Null(), ...errorResponses(400, 404) },
      },
    },
    async (request, reply) => {
      const deleted = await items.delete(request.params.id)
      if (!deleted) throw new NotFoundError('Item', request.params.id)
      return reply.code(204).send(null)
    },
  )
}
