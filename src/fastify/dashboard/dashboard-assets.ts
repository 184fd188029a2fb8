import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

import type { AssetSource } from '../../static/build-assets.js'

/** Build output of the dashboard's assets, relative to the package root (nginx can serve it). */
export const DASHBOARD_ASSETS_OUT_DIR = path.join('dist', 'assets', 'dashboard')

/**
 * The directory of Hotpath's own `package.json`, found from this module's location, which differs
 * between the sources (`src/fastify/dashboard/`, run by tsx) and the build
 * (`dist/src/fastify/dashboard/`).
 */
export function packageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url))
  for (;;) {
    const manifest = path.join(dir, 'package.json')
    if (existsSync(manifest)) {
      try {
        if ((JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown }).name === 'hotpath') return dir
      } catch {
        // Not ours (or unreadable): keep climbing.
      }
    }
    const parent = path.dirname(dir)
    if (parent === dir) throw new Error('hotpath: cannot find the package root from ' + import.meta.url)
    dir = parent
  }
}

/** Where the dashboard's assets are built to and served from, and what they are built from. */
export function dashboardAssetLocations(outDir?: string): { root: string; sources: AssetSource[] } {
  const base = packageRoot()
  const require = createRequire(import.meta.url)
  let uplotDir: string | undefined
  try {
    uplotDir = path.dirname(require.resolve('uplot/package.json'))
  } catch {
    uplotDir = undefined
  }
  const sources: AssetSource[] = [{ dir: path.join(base, 'assets', 'dashboard') }]
  if (uplotDir !== undefined) {
    sources.push(
      { file: path.join(uplotDir, 'dist', 'uPlot.iife.min.js'), name: 'uPlot.iife.min.js' },
      { file: path.join(uplotDir, 'dist', 'uPlot.min.css'), name: 'uPlot.min.css' },
    )
  }
  return {
    root: outDir === undefined ? path.join(base, DASHBOARD_ASSETS_OUT_DIR) : path.resolve(outDir),
    sources,
  }
}
