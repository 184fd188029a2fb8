/**
 * A private PostgreSQL cluster (initdb in a temporary directory, its own port and socket) that
 * the chaos run may stop and start without disturbing the shared cluster other tests use.
 * PostgreSQL refuses to run as root: as root, every command runs through `runuser -u postgres`.
 */
import { execFile, execFileSync } from 'node:child_process'
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir, userInfo } from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)
const PG_ROOT = '/usr/lib/postgresql'

export interface ChaosPostgresOptions {
  /** Port to listen on (127.0.0.1 and a socket in the cluster's directory). */
  port: number
  /** Directory of `initdb` / `pg_ctl`. @default newest `/usr/lib/postgresql/<n>/bin`, or `PG_BIN` */
  binDir?: string
}

/** The newest installed PostgreSQL's `bin` directory, or undefined. */
export function findPostgresBin(): string | undefined {
  if (process.env.PG_BIN) return process.env.PG_BIN
  if (!existsSync(PG_ROOT)) return undefined
  const versions = readdirSync(PG_ROOT)
    .filter((name) => /^\d+$/.test(name) && existsSync(path.join(PG_ROOT, name, 'bin', 'pg_ctl')))
    .sort((a, b) => Number(b) - Number(a))
  return versions[0] === undefined ? undefined : path.join(PG_ROOT, versions[0], 'bin')
}

/** A throwaway PostgreSQL cluster. */
export class ChaosPostgres {
  readonly port: number
  readonly #bin: string
  readonly #dir: string
  readonly #asRoot = userInfo().uid === 0

  constructor(options: ChaosPostgresOptions) {
    const bin = options.binDir ?? findPostgresBin()
    if (bin === undefined) {
      throw new Error(`no PostgreSQL binaries under ${PG_ROOT}; set PG_BIN to the directory of pg_ctl`)
    }
    this.port = options.port
    this.#bin = bin
    this.#dir = mkdtempSync(path.join(tmpdir(), `hotpath-chaos-pg-${options.port}-`))
    if (this.#asRoot) chownSync(this.#dir, uidOf('postgres'), gidOf('postgres'))
  }

  /** Connection string of the `postgres` database (trust authentication, loopback only). */
  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`
  }

  /** initdb (no fsync: this cluster is thrown away) and start. */
  async init(): Promise<void> {
    await this.#pg('initdb', ['-D', this.#data, '-A', 'trust', '-U', 'postgres', '--no-sync'])
    await this.start()
  }

  /** Start and wait until it accepts connections. */
  async start(): Promise<void> {
    const options = `-p ${this.port} -k ${this.#dir} -c listen_addresses=127.0.0.1 -c fsync=off`
    await this.#pg('pg_ctl', [
      '-D',
      this.#data,
      '-o',
      options,
      '-l',
      path.join(this.#dir, 'log'),
      '-w',
      'start',
    ])
  }

  /** Fast shutdown: open sessions are terminated, in-flight queries fail. */
  async stop(): Promise<void> {
    await this.#pg('pg_ctl', ['-D', this.#data, '-m', 'fast', '-w', 'stop'])
  }

  /** Stop (if running) and remove the cluster. */
  async destroy(): Promise<void> {
    await this.stop().catch(() => undefined)
    rmSync(this.#dir, { recursive: true, force: true })
  }

  get #data(): string {
    return path.join(this.#dir, 'data')
  }

  async #pg(command: string, args: string[]): Promise<void> {
    const binary = path.join(this.#bin, command)
    await (this.#asRoot ? run('runuser', ['-u', 'postgres', '--', binary, ...args]) : run(binary, args))
  }
}

function uidOf(user: string): number {
  return idOf(user, '-u')
}

function gidOf(user: string): number {
  return idOf(user, '-g')
}

/** No getpwnam in Node; parsing /etc/passwd would miss NSS users, `id` does not. */
function idOf(user: string, flag: '-u' | '-g'): number {
  const id = Number(execFileSync('id', [flag, user], { encoding: 'utf8' }).trim())
  if (!Number.isInteger(id)) throw new Error(`no system user "${user}" to run PostgreSQL as`)
  return id
}
