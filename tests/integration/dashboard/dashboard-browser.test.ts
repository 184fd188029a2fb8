/**
 * The dashboard in a real browser (Debian's headless Chromium driven by playwright-core) against
 * the reference service: refused without the token, opened with `?token=`, and its requests/s and
 * cache hit-ratio figures move while load runs. Writes `test-artifacts/dashboard.png`.
 */
import { existsSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import path from 'node:path'

import { chromium, type Browser, type Page } from 'playwright-core'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { startDashboardService, type DashboardService } from './dashboard-service.js'
import { until } from './sse-client.js'
import { publishDbQuery } from '../../../src/profiling/db-query-event.js'

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const IN_CI = process.env.CI === 'true' || process.env.CI === '1'
const hasChromium = existsSync(CHROMIUM)
if (!hasChromium) {
  const message = `Chromium is not installed at ${CHROMIUM}`
  if (IN_CI) throw new Error(`${message}: CI=true requires it (apt-get install chromium, see .ci/run).`)
  console.warn(`\n!!! SKIPPING the dashboard browser test: ${message}. Set CI=true to make this a failure.\n`)
}

const TOKEN = 'dashboard-browser-admin-token'
const SCREENSHOT = path.resolve('test-artifacts', 'dashboard.png')

describe.runIf(hasChromium)('dashboard in Chromium', () => {
  let service: DashboardService
  let base: string
  let browser: Browser
  let page: Page
  const consoleErrors: string[] = []

  beforeAll(async () => {
    service = await startDashboardService(TOKEN, 100)
    base = service.base
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    })
    page = await browser.newPage({ viewport: { width: 1440, height: 900 } })
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(message.text())
    })
    page.on('pageerror', (error) => consoleErrors.push(error.message))
  })

  afterAll(async () => {
    await browser?.close()
    await service?.close()
  })

  const figure = async (id: string): Promise<number | null> => {
    const raw = await page.getAttribute(`#${id}`, 'data-value')
    return raw === null || raw === '' ? null : Number(raw)
  }

  it('refuses the page without the token', async () => {
    const response = await page.goto(`${base}/_hotpath/`)
    expect(response?.status()).toBe(401)
    expect(await page.textContent('body')).toContain('E_DASHBOARD_UNAUTHORIZED')
  })

  it('opens with ?token=, drops the token from the address, and follows the load', async () => {
    consoleErrors.length = 0
    const response = await page.goto(`${base}/_hotpath/?token=${TOKEN}`)
    expect(response?.status()).toBe(200)
    expect(page.url()).toBe(`${base}/_hotpath/`)
    await page.waitForSelector('#status[data-state="live"]', { timeout: 10_000 })
    // The first sample, before any load: nothing served, no cache lookups.
    await page.waitForSelector('body[data-samples]', { timeout: 10_000 })
    const idle = { rps: await figure('rps'), hitRatio: await figure('hit-ratio') }
    expect(idle.rps).toBe(0)
    expect(idle.hitRatio).toBeNull()

    // Findings and a profile so that every panel has something to show.
    publishDbQuery({
      sql: "select * from items where price > 100 and name like '%x%'",
      durationMs: 180,
      dialect: 'sqlite',
    })
    await request(`${base}/users?include=posts&strategy=naive&size=10`).then((r) => r.body.dump())
    await request(`${base}/items/3?profile=1`, { headers: { authorization: `Bearer ${TOKEN}` } }).then((r) =>
      r.body.dump(),
    )

    let stop = false
    const load = Promise.all(
      [0, 1, 2, 3].map(async (worker) => {
        for (let i = worker; !stop; i++) {
          const r = await request(`${base}/items/${(i % 10) + 1}`)
          await r.body.dump()
        }
      }),
    )
    let busy: { rps: number | null; hitRatio: number | null }
    try {
      await until(
        async () => ((await figure('rps')) ?? 0) > 0 && ((await figure('hit-ratio')) ?? 0) > 50,
        15_000,
      )
      // Let the charts draw a few points under load before the screenshot.
      const samples = Number(await page.getAttribute('body', 'data-samples'))
      await until(async () => Number(await page.getAttribute('body', 'data-samples')) >= samples + 3, 10_000)
      busy = { rps: await figure('rps'), hitRatio: await figure('hit-ratio') }
      await page.waitForSelector('#profiles a[download]', { timeout: 10_000 })
      await page.waitForSelector('#n-plus-one tbody tr:not(.empty)', { timeout: 10_000 })
      await mkdir(path.dirname(SCREENSHOT), { recursive: true })
      await page.screenshot({ path: SCREENSHOT, fullPage: true })
    } finally {
      stop = true
      await load
    }
    expect(busy.rps).toBeGreaterThan(idle.rps!)
    expect(busy.hitRatio).toBeGreaterThan(50)
    expect(await figure('hit-l1')).toBeGreaterThan(50)
    expect(await figure('p50')).toBeGreaterThan(0)
    expect(await figure('heap')).toBeGreaterThan(0)
    expect(await page.textContent('#slow-queries tbody')).toContain('select')
    expect(await page.textContent('#namespaces tbody')).not.toContain('no cache lookups yet')
    // Charts are drawn by the locally served uPlot (one canvas per chart), and nothing broke
    // (a CSP violation or a script error would show up here).
    expect(await page.locator('.chart canvas').count()).toBe(6)
    expect(consoleErrors).toEqual([])
    expect(existsSync(SCREENSHOT)).toBe(true)
  })
})
