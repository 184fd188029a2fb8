import { randomBytes } from 'node:crypto'
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import path from 'node:path'

import { DEFAULT_MAX_PROFILES, DEFAULT_PROFILE_DIR } from './defaults.js'
import type { CpuProfile } from './cpu-profile.js'
import { InvalidOptionError, ProfileNotFoundError } from '../errors.js'

/** What is known about a saved profile (kept next to it as `<id>.json`). */
export interface ProfileInfo {
  id: string
  /** `request`: one request's profile; `process`: the whole process for a duration. */
  kind: 'request' | 'process'
  createdAt: string
  durationMs: number
  method?: string
  route?: string
  url?: string
  statusCode?: number
  sizeBytes: number
}

export interface ProfileStoreOptions {
  /**
   * Directory the `.cpuprofile` files go to (created on first save).
   * @default '.profiles'
   */
  dir?: string
  /**
   * Profiles kept; saving one more deletes the oldest.
   * @default 50
   */
  maxProfiles?: number
}

let lastIdMs = 0
const ID_PATTERN = /^[0-9]{8}T[0-9]{9}Z-[0-9a-f]{8}$/u
const PROFILE_EXTENSION = '.cpuprofile'
const INFO_EXTENSION = '.json'

/** True when `id` has the shape of a profile id (so it can never name a path outside the store). */
export function isProfileId(id: string): boolean {
  return ID_PATTERN.test(id)
}

/**
 * Saved CPU profiles in one directory: `<id>.cpuprofile` (opens in Chrome DevTools and speedscope)
 * plus `<id>.json` with its {@link ProfileInfo}. Ids are generated here and validated on every read,
 * so a client-supplied id cannot traverse paths.
 *
 * @example
 * const store = new ProfileStore({ dir: '.profiles' })
 * const info = await store.save(profile, { kind: 'request', route: '/items/:id', method: 'GET' })
 * const again = await store.read(info.id)
 */
export class ProfileStore {
  readonly dir: string
  readonly maxProfiles: number

  constructor(options: ProfileStoreOptions = {}) {
    this.dir = path.resolve(options.dir ?? DEFAULT_PROFILE_DIR)
    this.maxProfiles = options.maxProfiles ?? DEFAULT_MAX_PROFILES
    if (!Number.isInteger(this.maxProfiles) || this.maxProfiles < 1) {
      throw new InvalidOptionError('maxProfiles', options.maxProfiles, 'an integer >= 1')
    }
  }

  /** Save a profile and return its info (with the new id). */
  async save(
    profile: CpuProfile,
    info: Omit<ProfileInfo, 'id' | 'createdAt' | 'sizeBytes' | 'durationMs'> & { durationMs?: number },
  ): Promise<ProfileInfo> {
    await mkdir(this.dir, { recursive: true })
    // Ids sort by creation: strictly increasing milliseconds within the process.
    lastIdMs = Math.max(Date.now(), lastIdMs + 1)
    const now = new Date(lastIdMs)
    const id = `${now.toISOString().replace(/[-:.]/gu, '').slice(0, 18)}Z-${randomBytes(4).toString('hex')}`
    const body = JSON.stringify(profile)
    const saved: ProfileInfo = {
      ...info,
      id,
      createdAt: now.toISOString(),
      durationMs: info.durationMs ?? (profile.endTime - profile.startTime) / 1000,
      sizeBytes: Buffer.byteLength(body),
    }
    await writeFile(this.file(id, PROFILE_EXTENSION), body)
    await writeFile(this.file(id, INFO_EXTENSION), JSON.stringify(saved))
    await this.prune()
    return saved
  }

  /** Saved profiles, newest first. */
  async list(): Promise<ProfileInfo[]> {
    let names: string[]
    try {
      names = await readdir(this.dir)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return []
      throw error
    }
    const infos: ProfileInfo[] = []
    for (const name of names) {
      if (!name.endsWith(INFO_EXTENSION)) continue
      const id = name.slice(0, -INFO_EXTENSION.length)
      if (!isProfileId(id)) continue
      try {
        infos.push(JSON.parse(await readFile(this.file(id, INFO_EXTENSION), 'utf8')) as ProfileInfo)
      } catch {
        // A profile deleted between readdir and readFile is simply not listed.
      }
    }
    return infos.sort((a, b) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0))
  }

  /** The raw `.cpuprofile` JSON text of a saved profile. @throws ProfileNotFoundError */
  async read(id: string): Promise<string> {
    if (!isProfileId(id)) throw new ProfileNotFoundError(id)
    try {
      return await readFile(this.file(id, PROFILE_EXTENSION), 'utf8')
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new ProfileNotFoundError(id)
      throw error
    }
  }

  /** The info of a saved profile. @throws ProfileNotFoundError */
  async info(id: string): Promise<ProfileInfo> {
    if (!isProfileId(id)) throw new ProfileNotFoundError(id)
    try {
      return JSON.parse(await readFile(this.file(id, INFO_EXTENSION), 'utf8')) as ProfileInfo
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new ProfileNotFoundError(id)
      throw error
    }
  }

  private file(id: string, extension: string): string {
    return path.join(this.dir, id + extension)
  }

  private async prune(): Promise<void> {
    const infos = await this.list()
    for (const stale of infos.slice(this.maxProfiles)) {
      await rm(this.file(stale.id, PROFILE_EXTENSION), { force: true })
      await rm(this.file(stale.id, INFO_EXTENSION), { force: true })
    }
  }
}
