/**
 * Reachability of the real services integration tests use. With `CI=true` a missing service is a
 * test failure; elsewhere the suite is skipped with a loud message naming the service.
 */
import net from 'node:net'

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
export const POSTGRES_URL = process.env.DATABASE_URL?.startsWith('postgres')
  ? process.env.DATABASE_URL
  : (process.env.POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test')

const IN_CI = process.env.CI === 'true' || process.env.CI === '1'

function hostPort(url: string, defaultPort: number): { host: string; port: number } {
  const parsed = new URL(url)
  return { host: parsed.hostname || '127.0.0.1', port: Number(parsed.port || defaultPort) }
}

function canConnect(host: string, port: number, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port })
    const done = (ok: boolean) => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(timeoutMs, () => done(false))
    socket.once('connect', () => done(true))
    socket.once('error', () => done(false))
  })
}

async function probe(name: string, url: string, defaultPort: number): Promise<boolean> {
  const { host, port } = hostPort(url, defaultPort)
  const ok = await canConnect(host, port)
  if (ok) return true
  const message = `${name} is not reachable at ${host}:${port} (${url})`
  if (IN_CI) throw new Error(`${message}: CI=true requires it. Start it (see .ci/run).`)
  console.warn(`\n!!! SKIPPING ${name} integration tests: ${message}. Set CI=true to make this a failure.\n`)
  return false
}

/** True when Redis answers; throws under CI when it does not. Use with `describe.runIf`. */
export const hasRedis: boolean = await probe('Redis', REDIS_URL, 6379)
/** True when PostgreSQL answers; throws under CI when it does not. Use with `describe.runIf`. */
export const hasPostgres: boolean = await probe('PostgreSQL', POSTGRES_URL, 5432)
