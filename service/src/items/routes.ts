import { Type } from '@sinclair/typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { CacheSource } from '../../../src/cache/types.js'
import type { PendingWrite } from '../../../src/cache/strategies/write-behind.js'
import { ITEM_LISTS_TAG, itemEtag, type CachedRead, type ServiceCache } from '../cache/service-cache.js'
import { HttpPreconditionFailedError } from '../../../src/errors.js'
import { keptBody } from '../../../src/http/send-body.js'
import { NotFoundError } from '../errors.js'
import type { Repositories, ServiceApp } from '../context.js'
import { DEFAULT_PAGE_SIZE, IdParams, NoQuery } from '../http/common-schemas.js'
import { errorResponses } from '../http/error-schema.js'
import type { RouteCaching } from '../http/route-caching.js'
import type { ItemPage } from './repository.js'
import { Item, ItemList, ItemListQuery, NewItemBody, PatchItemBody, ReplaceItemBody } from './schemas.js'

/**
 * Clients and CDNs may keep item responses but revalidate them on every use (ETag → 304): an item
 * can change at any time, and the server-side caches already make a revalidation cheap.
 */
const ITEM_POLICY = { scope: 'public', noCache: true } as const
/** What Fastify sends with a serialized JSON body, so a kept body goes out exactly alike. */
const JSON_CONTENT_TYPE = 'application/json; charset=utf-8'
/** One strong ETag made by `itemEtag`, capturing the version. */
const ITEM_ETAG = /^\s*"v(\d{1,15})-[0-9a-z]+"\s*$/
/** Request decorator holding the read of `GET /items/:id`. */
const ITEM_READ = Symbol('hotpath.service.itemRead')

/** `source` is `pending` when a write-behind write not yet in the database answered the read. */
type ItemRead = Omit<CachedRead<Item | undefined>, 'source'> & {
  readonly source: CacheSource | 'pending' | undefined
}

function pendingRead(pending: PendingWrite<Item>): ItemRead {
  return pending.op === 'delete'
    ? { value: undefined, source: 'pending', etag: '' }
    : { value: pending.entity, source: 'pending', etag: itemEtag(pending.entity) }
}

/**
 * The cache update after a write: write-through refreshes the entry and the lists; write-behind
 * leaves both to the flusher (see {@link registerItemsRoutes}).
 */
function written(cache: ServiceCache, behind: boolean, item: Item): () => Promise<void> {
  return behind ? () => cache.itemQueued() : () => cache.itemWritten(item)
}

/** A cache update after a committed write failed: logged, retried by the service cache, never a 500. */
function cacheFailed(request: FastifyRequest): (error: unknown) => void {
  return (error) => request.log.warn({ err: error }, 'cache update after a committed write failed; retrying')
}

/**
 * `GET/POST /items`, `GET/PUT/PATCH/DELETE /items/:id`. Reads are cache-aside through the service
 * cache (`X-Cache` says how they were served), writes refresh the item entry and bump the list
 * namespace; `ETag` is the item version, `If-Match` on writes answers 412 when stale.
 *
 * With write-behind (`app.writeBehind`, registered before the routes):
 * - every item read asks the queue first (one `HGET`, or one `HMGET` per list page), so a write
 *   accepted by any instance is read back at once by every instance, whatever their L1 holds
 *   (coherence messages travel asynchronously); a pending write answers with `X-Cache: pending`;
 * - a write is one Redis call (the queue's script): the flusher stores the rows and invalidates
 *   lists and searches once per batch (`ServiceCache.itemsFlushed` in its `afterCommit`), and list
 *   pages overlay pending writes until then. An item whose category or sort key changed may sit on
 *   its old page until the flush; a created item appears in lists after it.
 */
export function registerItemsRoutes(
  app: ServiceApp,
  items: Repositories['items'],
  caching: RouteCaching,
): void {
  const { cache } = caching
  const writes = app.writeBehind
  // The ETag hook and the handler of one GET share one read, kept on the request (a decorator is
  // cheaper than a WeakMap entry); an L1 hit is read synchronously, so it costs no promise.
  const loadItem = (id: number): Promise<ItemRead> =>
    cache
      ? cache.item(id, () => items.findById(id))
      : items.findById(id).then((item) => ({
          value: item,
          source: undefined,
          etag: item === undefined ? '' : itemEtag(item),
        }))
  // Without Redis the queue cannot be asked: serve what the cache has (as every other read does
  // while Redis is down); writes are refused then anyway.
  const pendingFirst = (id: number): Promise<ItemRead> =>
    (writes as NonNullable<typeof writes>).read(id).then(
      (pending) => (pending === undefined ? (cache?.peekItem(id) ?? loadItem(id)) : pendingRead(pending)),
      () => cache?.peekItem(id) ?? loadItem(id),
    )
  const overlayPending = async (page: ItemPage): Promise<ItemPage> => {
    if (writes === undefined || page.items.length === 0) return page
    let pending: (PendingWrite<Item> | undefined)[]
    try {
      pending = await writes.readMany(page.items.map((item) => item.id))
    } catch {
      return page
    }
    if (pending.every((write) => write === undefined)) return page
    const items: Item[] = []
    page.items.forEach((row, index) => {
      const write = pending[index]
      if (write === undefined) items.push(row)
      else if (write.op === 'upsert') items.push(write.entity)
    })
    return { items, hasMore: page.hasMore }
  }
  app.decorateRequest(ITEM_READ, null)
  const readItem = (request: FastifyRequest): ItemRead | Promise<ItemRead> => {
    const slot = request as unknown as Record<typeof ITEM_READ, ItemRead | Promise<ItemRead> | null>
    let read = slot[ITEM_READ]
    if (read === null || read === undefined) {
      const id = (request.params as { id: number }).id
      read = writes === undefined ? (cache?.peekItem(id) ?? loadItem(id)) : pendingFirst(id)
      slot[ITEM_READ] = read
    }
    return read
  }
  const itemEtagOf = (read: ItemRead): string | undefined => read.etag || undefined
  // An in-memory hit hands out the same item object for as long as its entry lives (entries are
  // replaced on write, never changed in place), so its JSON is built once: the route's own
  // compiled 200 serializer runs at the first hit, later hits send the kept body. It lives as long
  // as the entry's item object and no longer (a WeakMap): at most one copy of each item entry that
  // was served. Kept in the form Node sends cheapest (`keptBody`): the text when it is ASCII, else
  // its bytes in memory of their own (see src/http/send-body.ts).
  const itemJson = new WeakMap<Item, string | Buffer>()
  let serializeItem: ((item: Item) => string | Buffer) | undefined
  // Returns the kept body rather than calling `reply.send`: a string or Buffer with a JSON content
  // type is sent as is, and a handler promise must not settle before a send that its onSend hooks
  // (the response cache storing the body) are still completing.
  const answerItem = (reply: FastifyReply, id: number, read: ItemRead): Item | string | Buffer => {
    const item = read.value
    if (item === undefined) throw new NotFoundError('Item', id)
    if (read.source === undefined) return item
    reply.header('x-cache', read.source)
    // Another representation chosen for this reply (content negotiation) is left to its serializer.
    if (read.source !== 'hit-l1' || reply.hasHeader('content-type')) return item
    let json = itemJson.get(item)
    if (json === undefined) {
      serializeItem ??= reply.getSerializationFunction('200') as ((item: Item) => string | Buffer) | undefined
      if (serializeItem === undefined) return item
      json = keptBody(serializeItem(item))
      itemJson.set(item, json)
    }
    reply.header('content-type', JSON_CONTENT_TYPE)
    return json
  }
  // Preconditions of a write compare against the row as it is now, not a cached copy.
  const currentEtag = async (request: FastifyRequest): Promise<string | undefined> => {
    const headers = request.headers
    if (headers['if-match'] === undefined && headers['if-unmodified-since'] === undefined) return undefined
    const item = await items.findById((request.params as { id: number }).id)
    return item === undefined ? undefined : itemEtag(item)
  }
  /**
   * The version named by a single `If-Match` ETag of ours, so the write itself re-checks it; the
   * plugin's precondition check before the handler cannot see a write that lands in between.
   */
  const expectedVersion = (request: FastifyRequest): number | undefined => {
    const match = ITEM_ETAG.exec(request.headers['if-match'] ?? '')
    return match ? Number(match[1]) : undefined
  }
  // A conditional write that changed nothing: the item is gone (404) or was changed since (412).
  const notWritten = async (request: FastifyRequest, id: number, condition: number | undefined) => {
    if (condition !== undefined && (await items.findById(id)) !== undefined) {
      return new HttpPreconditionFailedError('If-Match', request.headers['if-match'])
    }
    return new NotFoundError('Item', id)
  }
  const writeCaching = {
    httpCache: { etag: currentEtag, requirePrecondition: caching.requireIfMatch },
  }

  app.get(
    '/items',
    {
      schema: { querystring: ItemListQuery, response: { 200: ItemList, ...errorResponses(400) } },
      config: {
        httpCache: { policy: ITEM_POLICY, ttl: caching.ttl, tags: [ITEM_LISTS_TAG], private: false },
      },
    },
    async (request, reply) => {
      const { page = 1, size = DEFAULT_PAGE_SIZE, category, sort } = request.query
      const params = { page, size, category, sort }
      const load = () => items.list(params)
      const read = cache ? await cache.itemList(params, load) : { value: await load(), source: undefined }
      if (read.source !== undefined) reply.header('x-cache', read.source)
      const value = writes === undefined ? read.value : await overlayPending(read.value)
      return { data: value.items, page, size, hasMore: value.hasMore }
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
      await cache?.afterCommit(written(cache, writes !== undefined, item), cacheFailed(request))
      return reply.code(201).header('location', `/items/${item.id}`).header('etag', itemEtag(item)).send(item)
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
      config: {
        httpCache: {
          policy: ITEM_POLICY,
          ttl: caching.ttl,
          private: false,
          etag: (request) => {
            const read = readItem(request)
            return read instanceof Promise ? read.then(itemEtagOf) : itemEtagOf(read)
          },
        },
      },
    },
    (request, reply) => {
      const read = readItem(request)
      const id = request.params.id
      // The schema types the 200 body as an Item; the kept JSON of one is sent as is.
      return (
        read instanceof Promise ? read.then((r) => answerItem(reply, id, r)) : answerItem(reply, id, read)
      ) as Item | Promise<Item>
    },
  )

  app.put(
    '/items/:id',
    {
      schema: {
        params: IdParams,
        querystring: NoQuery,
        body: ReplaceItemBody,
        response: { 200: Item, ...errorResponses(400, 404, 412, 413, 415, 428) },
      },
      config: writeCaching,
    },
    async (request, reply) => {
      const condition = expectedVersion(request)
      const item = await items.replace(request.params.id, request.body, { expectedVersion: condition })
      if (item === undefined) throw await notWritten(request, request.params.id, condition)
      await cache?.afterCommit(written(cache, writes !== undefined, item), cacheFailed(request))
      return reply.header('etag', itemEtag(item)).send(item)
    },
  )

  app.patch(
    '/items/:id',
    {
      schema: {
        params: IdParams,
        querystring: NoQuery,
        body: PatchItemBody,
        response: { 200: Item, ...errorResponses(400, 404, 412, 413, 415, 428) },
      },
      config: writeCaching,
    },
    async (request, reply) => {
      const condition = expectedVersion(request)
      const item = await items.patch(request.params.id, request.body, { expectedVersion: condition })
      if (item === undefined) throw await notWritten(request, request.params.id, condition)
      await cache?.afterCommit(written(cache, writes !== undefined, item), cacheFailed(request))
      return reply.header('etag', itemEtag(item)).send(item)
    },
  )

  app.delete(
    '/items/:id',
    {
      schema: {
        params: IdParams,
        querystring: NoQuery,
        response: { 204: Type.Null(), ...errorResponses(400, 404, 412, 428) },
      },
      config: writeCaching,
    },
    async (request, reply) => {
      const condition = expectedVersion(request)
      const deleted = await items.delete(request.params.id, { expectedVersion: condition })
      if (!deleted) throw await notWritten(request, request.params.id, condition)
      const id = request.params.id
      await cache?.afterCommit(
        writes === undefined ? () => cache.itemDeleted(id) : () => cache.itemQueued(),
        cacheFailed(request),
      )
      return reply.code(204).send(null)
    },
  )
}
