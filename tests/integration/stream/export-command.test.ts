import { Command } from 'commander'
import { parse } from 'csv-parse/sync'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { registerExportCommand } from '../../../cli/commands/export.js'
import { createDatabase } from '../../../service/src/db/create-database.js'
import { seedDatabase } from '../../../service/src/seed.js'

describe('hotpath export items', () => {
  let dir: string
  let databaseUrl: string

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hotpath-export-cli-'))
    const filename = path.join(dir, 'cli.db')
    databaseUrl = `sqlite:${filename}`
    const database = await createDatabase({ dialect: 'sqlite', filename })
    await seedDatabase(database, { items: 2_000, users: 0, posts: 0 })
    await database.close()
  })

  afterAll(async () => {
    await fs.promises.rm(dir, { recursive: true, force: true })
  })

  const run = async (...args: string[]) => {
    const program = new Command('hotpath').exitOverride()
    registerExportCommand(program)
    await program.parseAsync([
      'node',
      'hotpath',
      'export',
      ...args,
      '--database-url',
      databaseUrl,
      '--no-progress',
    ])
  }

  it('writes every item to a CSV file and leaves no partial file', async () => {
    const output = path.join(dir, 'items.csv')
    await run('items', '--format', 'csv', '-o', output)
    const records = parse(fs.readFileSync(output, 'utf8')) as string[][]
    expect(records[0]).toEqual(['id', 'name', 'category', 'price', 'description', 'updated_at', 'version'])
    expect(records).toHaveLength(2_001)
    expect(fs.existsSync(`${output}.partial`)).toBe(false)
  })

  it('writes NDJSON with selected columns', async () => {
    const output = path.join(dir, 'items.ndjson')
    await run('items', '--format', 'ndjson', '--columns', 'id,price', '-o', output)
    const lines = fs.readFileSync(output, 'utf8').trimEnd().split('\n')
    expect(lines).toHaveLength(2_000)
    expect(Object.keys(JSON.parse(lines[0]!) as object)).toEqual(['id', 'price'])
  })

  it('rejects an unknown column before touching the database', async () => {
    await expect(run('items', '--columns', 'id,secret', '-o', path.join(dir, 'x.csv'))).rejects.toThrow(
      /Invalid query parameter "--columns"/,
    )
    expect(fs.existsSync(path.join(dir, 'x.csv'))).toBe(false)
  })
})
