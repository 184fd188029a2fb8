import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'

import Database from 'better-sqlite3'
import Fastify, { type FastifyInstance } from 'fastify'
import { Kysely, SqliteDialect, sql } from 'kysely'

import { publishDbQuery } from '../../../src/profiling/db-query-event.js'

interface PostsTable {
  id: number
  user_id: number
  title: string
}

export interface TestDb {
  db: Kysely<{ posts: PostsTable }>
  dir: string
  close(): Promise<void>
}

/** A real SQLite database (temp file) whose Kysely publishes every query on `hotpath:db:query`. */
export async function createTestDb(): Promise<TestDb> {
  const dir = await mkdtemp(path.join(tmpdir(), 'hotpath-profiling-'))
  const sqlite = new Database(path.join(dir, 'test.db'))
  sqlite.exec('create table posts (id integer primary key, user_id integer not null, title text not null)')
  const insert = sqlite.prepare('insert into posts (user_id, title) values (?, ?)')
  for (let user = 1; user <= 30; user++) insert.run(user, `post of ${user}`)
  const db = new Kysely<{ posts: PostsTable }>({
    dialect: new SqliteDialect({ database: sqlite }),
    log(event) {
      publishDbQuery({
        sql: event.query.sql,
        durationMs: event.queryDurationMillis,
        dialect: 'sqlite',
        ...(event.level === 'error' ? { error: event.error } : {}),
      })
    },
  })
  return {
    db,
    dir,
    async close() {
      await db.destroy()
      await rm(dir, { recursive: true, force: true })
    },
  }
}

export interface LogLine {
  level: number
  msg: string
  [key: string]: unknown
}

/** A Fastify app whose JSON log lines are collected in `logs`. */
export function createLoggedApp(): { app: FastifyInstance; logs: LogLine[] } {
  const logs: LogLine[] = []
  const app = Fastify({
    logger: {
      level: 'info',
      stream: {
        write(line: string) {
          logs.push(JSON.parse(line) as LogLine)
        },
      },
    },
  })
  return { app, logs }
}

/** Routes that do database work: `naive` runs 1 + N queries, `batched` runs 2. */
export function registerPostRoutes(app: FastifyInstance, testDb: TestDb): void {
  app.get<{ Querystring: { users?: string } }>('/posts/naive', async (request) => {
    const users = Number(request.query.users ?? 20)
    const ids = await testDb.db.selectFrom('posts').select('user_id').where('user_id', '<=', users).execute()
    const titles: string[] = []
    for (const { user_id } of ids) {
      const post = await testDb.db
        .selectFrom('posts')
        .select('title')
        .where('user_id', '=', user_id)
        .executeTakeFirst()
      titles.push(post?.title ?? '')
    }
    return { count: titles.length }
  })
  app.get<{ Querystring: { users?: string } }>('/posts/batched', async (request) => {
    const users = Number(request.query.users ?? 20)
    const ids = await testDb.db.selectFrom('posts').select('user_id').where('user_id', '<=', users).execute()
    const posts = await testDb.db
      .selectFrom('posts')
      .select('title')
      .where(
        'user_id',
        'in',
        ids.map((row) => row.user_id),
      )
      .execute()
    return { count: posts.length }
  })
  app.get('/posts/inline-literal', async () => {
    const rows = await sql<{
      n: number
    }>`select count(*) as n from posts where title = 'secret-title-42'`.execute(testDb.db)
    return { n: rows.rows[0]?.n ?? 0 }
  })
}
