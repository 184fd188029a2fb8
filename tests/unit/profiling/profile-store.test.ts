import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'

import { afterEach, beforeEach, describe, expect, it } from 'vitest'

import type { CpuProfile } from '../../../src/profiling/cpu-profile.js'
import { isProfileId, ProfileStore } from '../../../src/profiling/profile-store.js'
import { ProfileNotFoundError } from '../../../src/errors.js'

const profile: CpuProfile = {
  startTime: 1_000,
  endTime: 251_000,
  nodes: [
    {
      id: 1,
      callFrame: { functionName: '(root)', scriptId: '0', url: '', lineNumber: -1, columnNumber: -1 },
    },
  ],
  samples: [1],
  timeDeltas: [0],
}

let dir: string
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'hotpath-profiles-'))
})
afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

describe('ProfileStore', () => {
  it('saves, lists newest first and reads back a profile', async () => {
    const store = new ProfileStore({ dir })
    const first = await store.save(profile, { kind: 'request', method: 'GET', route: '/a' })
    const second = await store.save(profile, { kind: 'process' })
    expect(isProfileId(first.id)).toBe(true)
    expect(first.durationMs).toBe(250)
    expect((await store.list()).map((info) => info.id)).toEqual([second.id, first.id])
    expect(JSON.parse(await store.read(first.id))).toEqual(profile)
    expect(await store.info(first.id)).toMatchObject({
      kind: 'request',
      route: '/a',
      sizeBytes: first.sizeBytes,
    })
    expect((await readdir(dir)).sort()).toEqual(
      [`${first.id}.cpuprofile`, `${first.id}.json`, `${second.id}.cpuprofile`, `${second.id}.json`].sort(),
    )
  })

  it('rejects ids that are not its own, so no path can be traversed', async () => {
    const outside = path.join(dir, '..', 'secret.cpuprofile')
    await writeFile(outside, '{}')
    try {
      const store = new ProfileStore({ dir })
      for (const id of [
        '../secret',
        '..%2Fsecret',
        '/etc/passwd',
        'a/b',
        '',
        '20261125T100915949Z-zzzzzzzz',
      ]) {
        await expect(store.read(id)).rejects.toBeInstanceOf(ProfileNotFoundError)
      }
      await expect(store.read('20261125T100915949Z-0badc0de')).rejects.toBeInstanceOf(ProfileNotFoundError)
    } finally {
      await rm(outside, { force: true })
    }
  })

  it('keeps at most maxProfiles, deleting the oldest', async () => {
    const store = new ProfileStore({ dir, maxProfiles: 2 })
    const ids: string[] = []
    for (let i = 0; i < 4; i++) ids.push((await store.save(profile, { kind: 'process' })).id)
    expect((await store.list()).map((info) => info.id)).toEqual([ids[3], ids[2]])
    await expect(store.read(ids[0]!)).rejects.toBeInstanceOf(ProfileNotFoundError)
  })

  it('lists nothing for a directory that does not exist yet', async () => {
    expect(await new ProfileStore({ dir: path.join(dir, 'missing') }).list()).toEqual([])
  })
})
