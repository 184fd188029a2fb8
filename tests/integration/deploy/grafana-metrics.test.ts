/**
 * Every series, label and label value the Grafana dashboard (deploy/grafana/hotpath-dashboard.json)
 * queries exists in a real `/metrics` scrape of the service running as in production: PostgreSQL
 * (pool gauges), Redis (L2 tier), the data cache and `WRITE_STRATEGY=behind` (write-behind series).
 * A renamed metric, label or label value breaks this test instead of silently emptying a panel.
 */
import { randomUUID } from 'node:crypto'
import { createClient } from 'redis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { buildApp } from '../../../service/src/app.js'
import { loadConfig } from '../../../service/src/config.js'
import type { ServiceApp } from '../../../service/src/context.js'
import { createDatabase, type ServiceDatabase } from '../../../service/src/db/create-database.js'
import { seedDatabase } from '../../../service/src/seed.js'
import { writeStrategySetup } from '../../../service/src/write-strategy/write-strategy-plugin.js'
import { hasPostgres, hasRedis, REDIS_URL } from '../../helpers/services.js'
import {
  allQueries,
  groupingLabels,
  loadDashboard,
  matches,
  parseExposition,
  selectors,
  TARGET_LABELS,
  type LabelMatcher,
  type Sample,
} from '../../unit/deploy/dashboard.js'
import { createPostgresDatabase, type TestDatabase } from '../service/backends.js'

/** `a|b|c` of plain words: each alternative is a label value the dashboard expects to exist. */
const LITERAL_ALTERNATION = /^[A-Za-z0-9_]+(?:\|[A-Za-z0-9_]+)*$/

describe.runIf(hasRedis && hasPostgres)('Grafana dashboard against a real /metrics scrape', () => {
  const prefix = `test.deploy.grafana.${randomUUID().slice(0, 8)}`
  let target: TestDatabase
  let database: ServiceDatabase
  let app: ServiceApp
  let samples: Sample[]

  beforeAll(async () => {
    target = await createPostgresDatabase()
    const config = loadConfig({
      DATABASE_URL: target.url,
      REDIS_URL,
      CACHE_PREFIX: prefix,
      LOG_LEVEL: 'silent',
      DB_POOL_SIZE: '2',
    })
    database = await createDatabase(config.database, { poolSize: 2, migrate: true })
    await seedDatabase(database, { items: 10, users: 2, posts: 0, seed: 1 })
    app = await buildApp(config, {
      database,
      plugins: [writeStrategySetup({ strategy: 'behind', prefix: `${prefix}:wb` })],
    })
    await app.ready()
    // Traffic that fills every series: a miss with a loader, a hit, a write through the queue.
    expect((await app.inject({ url: '/items/1' })).statusCode).toBe(200)
    expect((await app.inject({ url: '/items/1' })).statusCode).toBe(200)
    const put = await app.inject({
      method: 'PUT',
      url: '/items/2',
      payload: { name: 'grafana', category: 'c', price: 5, description: 'd' },
    })
    expect(put.statusCode).toBe(200)
    const scrape = await app.inject({ url: '/metrics' })
    expect(scrape.statusCode).toBe(200)
    samples = parseExposition(scrape.body)
  })

  afterAll(async () => {
    await app?.close()
    await database?.close()
    await target?.drop()
    const admin = createClient({ url: REDIS_URL })
    await admin.connect()
    // Only this file's keys (unique prefix); never a flush of the shared Redis.
    for await (const keys of admin.scanIterator({ MATCH: `${prefix}*`, COUNT: 500 })) {
      if (keys.length > 0) await admin.del(keys)
    }
    admin.destroy()
  })

  const byName = (name: string) => samples.filter((sample) => sample.name === name)

  it('finds every series of every panel and variable in the scrape', () => {
    const missing = allQueries(loadDashboard()).flatMap(({ where, expr }) =>
      selectors(expr)
        .filter((selector) => byName(selector.metric).length === 0)
        .map((selector) => `${where}: ${selector.metric}`),
    )
    expect(missing).toEqual([])
  })

  it('finds the labels and label values the queries select and group by', () => {
    const problems: string[] = []
    for (const { where, expr } of allQueries(loadDashboard())) {
      const found = selectors(expr)
      const labels = new Set([...TARGET_LABELS])
      for (const { metric, matchers } of found) {
        const series = byName(metric)
        for (const sample of series) for (const label of Object.keys(sample.labels)) labels.add(label)
        const own = matchers.filter((m) => !TARGET_LABELS.has(m.label))
        for (const matcher of own) {
          if (!series.some((sample) => matcher.label in sample.labels)) {
            problems.push(`${where}: ${metric} has no label "${matcher.label}"`)
          }
          // `tier="l1"` or `kind=~"rss|heap_used"`: each named value must be a real one.
          const values =
            matcher.op === '=' || (matcher.op === '=~' && LITERAL_ALTERNATION.test(matcher.value))
              ? matcher.value.split('|')
              : []
          for (const value of values) {
            const exact: LabelMatcher = { label: matcher.label, op: '=', value }
            if (!series.some((sample) => matches(sample, exact))) {
              problems.push(`${where}: ${metric} has no series with ${matcher.label}="${value}"`)
            }
          }
        }
        if (own.length > 0 && !series.some((sample) => own.every((m) => matches(sample, m)))) {
          const wanted = own.map((m) => `${m.label}${m.op}"${m.value}"`).join(', ')
          // A 5xx filter may legitimately match nothing in a healthy scrape; only literal values must.
          if (own.every((m) => m.op === '=' || LITERAL_ALTERNATION.test(m.value))) {
            problems.push(`${where}: no ${metric}{${wanted}}`)
          }
        }
      }
      for (const label of groupingLabels(expr)) {
        if (!labels.has(label)) problems.push(`${where}: grouping label "${label}" is on none of its series`)
      }
    }
    expect(problems).toEqual([])
  })
})
