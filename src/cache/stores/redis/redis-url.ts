/**
 * Redis URLs Hotpath accepts, parsed without loading node-redis (the service's config validates
 * `REDIS_URL` with it).
 */

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379'

/** A parsed Redis URL: standalone (node-redis parses it), a cluster's seed nodes, or Sentinels. */
export interface RedisTarget {
  readonly cluster: boolean
  /** The Sentinel master name (`redis+sentinel://…/<name>`); undefined otherwise. */
  readonly sentinel: string | undefined
  readonly tls: boolean
  /** Cluster seed nodes or Sentinel nodes as `redis://host:port` (empty for a standalone URL). */
  readonly rootNodes: readonly string[]
  readonly username: string | undefined
  readonly password: string | undefined
}

const MULTI_HOST_PROTOCOLS = new Set([
  'redis+cluster:',
  'rediss+cluster:',
  'redis+sentinel:',
  'rediss+sentinel:',
])
const SENTINEL_PORT = '26379'

/**
 * Parse a Redis URL. Returns undefined when it is not one of `redis://`, `rediss://`,
 * `redis+cluster://host:port,host:port`, `redis+sentinel://host:port,host:port/<master name>`
 * (and their `rediss+` TLS forms).
 */
export function parseRedisUrl(url: unknown): RedisTarget | undefined {
  if (typeof url !== 'string') return undefined
  const scheme = /^([a-z+]+:)\/\//i.exec(url)?.[1]?.toLowerCase()
  if (scheme === undefined) return undefined
  if (scheme === 'redis:' || scheme === 'rediss:') {
    try {
      const parsed = new URL(url)
      return Object.freeze({
        cluster: false,
        sentinel: undefined,
        tls: scheme === 'rediss:',
        rootNodes: [],
        username: parsed.username === '' ? undefined : decodeURIComponent(parsed.username),
        password: parsed.password === '' ? undefined : decodeURIComponent(parsed.password),
      })
    } catch {
      return undefined
    }
  }
  if (!MULTI_HOST_PROTOCOLS.has(scheme)) return undefined
  const sentinel = scheme.endsWith('+sentinel:')
  const full = url.slice(scheme.length + 2)
  const pathAt = full.search(/[/?#]/)
  const rest = pathAt === -1 ? full : full.slice(0, pathAt)
  const name = pathAt === -1 ? '' : decodeURIComponent(full.slice(pathAt).replace(/^\/([^/?#]*).*$/, '$1'))
  if (sentinel && name === '') return undefined
  const at = rest.lastIndexOf('@')
  const auth = at === -1 ? '' : rest.slice(0, at)
  const hosts = (at === -1 ? rest : rest.slice(at + 1)).split(',').filter((host) => host !== '')
  if (hosts.length === 0) return undefined
  const rootNodes: string[] = []
  for (const host of hosts) {
    try {
      const parsed = new URL(`redis://${host}`)
      if (parsed.hostname === '') return undefined
      rootNodes.push(`redis://${parsed.hostname}:${parsed.port || (sentinel ? SENTINEL_PORT : '6379')}`)
    } catch {
      return undefined
    }
  }
  const colon = auth.indexOf(':')
  const user = colon === -1 ? auth : auth.slice(0, colon)
  const password = colon === -1 ? '' : auth.slice(colon + 1)
  return Object.freeze({
    cluster: !sentinel,
    sentinel: sentinel ? name : undefined,
    tls: scheme.startsWith('rediss+'),
    rootNodes: Object.freeze(rootNodes),
    username: user === '' ? undefined : decodeURIComponent(user),
    password: password === '' ? undefined : decodeURIComponent(password),
  })
}
