/**
 * Redis URLs Hotpath accepts, parsed without loading node-redis (the service's config validates
 * `REDIS_URL` with it).
 */

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379'

/** A parsed Redis URL: standalone (node-redis parses it) or the seed nodes of a cluster. */
export interface RedisTarget {
  readonly cluster: boolean
  readonly tls: boolean
  /** Cluster seed nodes as `redis://host:port` (cluster only). */
  readonly rootNodes: readonly string[]
  readonly username: string | undefined
  readonly password: string | undefined
}

const CLUSTER_PROTOCOLS = new Set(['redis+cluster:', 'rediss+cluster:'])

/**
 * Parse a Redis URL. Returns undefined when it is not one of `redis://`, `rediss://`,
 * `redis+cluster://host:port,host:port`, `rediss+cluster://…`.
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
        tls: scheme === 'rediss:',
        rootNodes: [],
        username: parsed.username === '' ? undefined : decodeURIComponent(parsed.username),
        password: parsed.password === '' ? undefined : decodeURIComponent(parsed.password),
      })
    } catch {
      return undefined
    }
  }
  if (!CLUSTER_PROTOCOLS.has(scheme)) return undefined
  const rest = url.slice(scheme.length + 2).replace(/[/?#].*$/, '')
  const at = rest.lastIndexOf('@')
  const auth = at === -1 ? '' : rest.slice(0, at)
  const hosts = (at === -1 ? rest : rest.slice(at + 1)).split(',').filter((host) => host !== '')
  if (hosts.length === 0) return undefined
  const rootNodes: string[] = []
  for (const host of hosts) {
    try {
      const parsed = new URL(`redis://${host}`)
      if (parsed.hostname === '') return undefined
      rootNodes.push(`redis://${parsed.hostname}:${parsed.port || '6379'}`)
    } catch {
      return undefined
    }
  }
  const colon = auth.indexOf(':')
  const user = colon === -1 ? auth : auth.slice(0, colon)
  const password = colon === -1 ? '' : auth.slice(colon + 1)
  return Object.freeze({
    cluster: true,
    tls: scheme === 'rediss+cluster:',
    rootNodes: Object.freeze(rootNodes),
    username: user === '' ? undefined : decodeURIComponent(user),
    password: password === '' ? undefined : decodeURIComponent(password),
  })
}
