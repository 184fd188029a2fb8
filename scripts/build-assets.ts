/**
 * Build static assets ahead of time (also run by `npm run build`): the dashboard's assets into
 * `dist/assets/dashboard/`, and an app's static directory (`--static <dir>` or `STATIC_DIR`) into
 * `dist/assets/app/` (`--out <dir>` or `STATIC_OUT_DIR`). Files get content-hashed names, `.br` /
 * `.gz` variants and a `manifest.json`; a reverse proxy can serve these directories directly.
 *
 *   npx tsx scripts/build-assets.ts [--static public] [--out dist/assets/app]
 */
import { parseArgs } from 'node:util'

import { DEFAULT_STATIC_OUT_DIR } from '../service/src/config.js'
import { dashboardAssetLocations } from '../src/fastify/dashboard/dashboard-assets.js'
import { buildAssets } from '../src/static/build-assets.js'

const { values } = parseArgs({
  options: { static: { type: 'string' }, out: { type: 'string' } },
  strict: true,
})

const dashboard = dashboardAssetLocations()
const built = await buildAssets({ sources: dashboard.sources, outDir: dashboard.root })
console.log(`dashboard assets: ${Object.keys(built.files).length} files in ${dashboard.root}`)

const staticDir = values.static ?? process.env.STATIC_DIR
if (staticDir !== undefined && staticDir !== '') {
  const outDir = values.out ?? process.env.STATIC_OUT_DIR ?? DEFAULT_STATIC_OUT_DIR
  const app = await buildAssets({ sources: [{ dir: staticDir }], outDir })
  console.log(`app assets: ${Object.keys(app.files).length} files from ${staticDir} in ${outDir}`)
}
