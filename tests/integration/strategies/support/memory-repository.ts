import type {
  VersionedDelete,
  WriteBatch,
  WriteRepository,
} from '../../../../src/cache/strategies/repository.js'

export interface Row {
  id: number
  name: string
  version: number
}

/**
 * An in-memory repository that keeps the contract (version-guarded upserts, tombstoned deletes,
 * all-or-nothing batches) and fails on demand: `down` makes every call fail like a refused
 * connection, `poison` makes writes of the given ids fail with a non-transient error, `hold`
 * makes `apply` wait until released.
 */
export class MemoryRepository implements WriteRepository<Row, number> {
  readonly rows = new Map<number, Row>()
  readonly tombstones = new Map<number, number>()
  readonly batches: WriteBatch<Row, number>[] = []
  down = false
  readonly poison = new Set<number>()
  #hold: Promise<void> | undefined
  #release: (() => void) | undefined

  hold(): void {
    this.#hold = new Promise((resolve) => (this.#release = resolve))
  }

  release(): void {
    this.#release?.()
    this.#hold = undefined
  }

  load(id: number): Promise<Row | undefined> {
    return Promise.resolve(this.rows.get(id))
  }

  loadMany(ids: readonly number[]): Promise<(Row | undefined)[]> {
    return Promise.resolve(ids.map((id) => this.rows.get(id)))
  }

  upsert(entities: readonly Row[]): Promise<void> {
    return this.apply({ upserts: entities, deletes: [] })
  }

  delete(targets: readonly VersionedDelete<number>[]): Promise<void> {
    return this.apply({ upserts: [], deletes: targets })
  }

  async apply(batch: WriteBatch<Row, number>): Promise<void> {
    if (this.#hold) await this.#hold
    if (this.down)
      throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' })
    for (const row of batch.upserts) {
      if (this.poison.has(row.id)) throw new Error(`constraint violated by row ${row.id}`)
    }
    this.batches.push(batch)
    for (const row of batch.upserts) {
      const current = this.rows.get(row.id)
      const tomb = this.tombstones.get(row.id) ?? 0
      if (row.version > (current?.version ?? 0) && row.version > tomb) this.rows.set(row.id, { ...row })
    }
    for (const target of batch.deletes) {
      const current = this.rows.get(target.id)
      if (current !== undefined && current.version < target.version) this.rows.delete(target.id)
      this.tombstones.set(target.id, Math.max(this.tombstones.get(target.id) ?? 0, target.version))
    }
  }
}
