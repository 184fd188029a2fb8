import type { AssetManifest } from '../../static/build-assets.js'

/** `Content-Security-Policy` of the dashboard page: its own scripts, styles and event stream only. */
export const DASHBOARD_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; " +
  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

function asset(manifest: AssetManifest, logical: string): string {
  const hashed = manifest.files[logical]
  if (hashed === undefined) {
    throw new Error(`dashboard: asset "${logical}" is missing from the asset manifest; rebuild the assets`)
  }
  return `assets/${hashed}`
}

function tile(id: string, label: string, unit = '', extra = ''): string {
  return `<div class="tile" id="tile-${id}"><div class="label">${label}</div><div class="value"><span id="${id}" data-value="">–</span><span class="unit">${unit}</span></div>${extra}</div>`
}

/**
 * The dashboard HTML. Asset URLs are relative (`assets/<hashed name>`), so the page works under any
 * prefix; the figures have stable ids and carry their raw value in `data-value`.
 */
export function renderDashboardPage(manifest: AssetManifest): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Hotpath dashboard</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${asset(manifest, 'uPlot.min.css')}">
<link rel="stylesheet" href="${asset(manifest, 'dashboard.css')}">
</head>
<body data-events="events">
<header>
  <h1>Hotpath</h1>
  <span id="status" data-state="connecting">connecting…</span>
  <span id="updated" class="muted"></span>
</header>
<main>
<section class="tiles">
  ${tile('rps', 'Requests / s', '', '<div class="sub"><span id="error-rps" data-value="">–</span> 5xx/s</div>')}
  ${tile('p50', 'Latency p50', 'ms', '<div class="sub">p90 <span id="p90" data-value="">–</span> · p99 <span id="p99" data-value="">–</span> ms</div>')}
  ${tile('hit-ratio', 'Cache hit ratio', '%', '<div class="bar" id="hit-bar"><i class="l1"></i><i class="l2"></i><i class="miss"></i></div><div class="sub">L1 <span id="hit-l1" data-value="">–</span> · L2 <span id="hit-l2" data-value="">–</span> · miss <span id="hit-miss" data-value="">–</span></div>')}
  ${tile('stale', 'Stale served / s', '', '<div class="sub"><span id="stale-total" data-value="">–</span> since start</div>')}
  ${tile('loader', 'Loader mean', 'ms', '<div class="sub"><span id="loads" data-value="">–</span> loads/s</div>')}
  ${tile('wb-pending', 'Write-behind pending', '', '<div class="sub">lag <span id="wb-lag" data-value="">–</span> ms</div>')}
  ${tile('el-p99', 'Event-loop delay p99', 'ms', '<div class="sub">max <span id="el-max" data-value="">–</span> ms</div>')}
  ${tile('heap', 'Heap used', 'MB', '<div class="sub">RSS <span id="rss" data-value="">–</span> MB</div>')}
</section>
<section class="charts">
  <figure><figcaption>Requests / s</figcaption><div class="chart" id="chart-rps"></div></figure>
  <figure><figcaption>Latency (ms)</figcaption><div class="chart" id="chart-latency"></div></figure>
  <figure><figcaption>Cache lookups by tier (%)</figcaption><div class="chart" id="chart-cache"></div></figure>
  <figure><figcaption>Event-loop delay (ms)</figcaption><div class="chart" id="chart-loop"></div></figure>
  <figure><figcaption>Memory (MB)</figcaption><div class="chart" id="chart-memory"></div></figure>
  <figure><figcaption id="caption-wb">Write-behind (pending, lag ms)</figcaption><div class="chart" id="chart-wb"></div></figure>
</section>
<section class="tables">
  <div class="panel"><h2>Cache by namespace</h2>
    <table id="namespaces"><thead><tr><th>namespace</th><th class="num">hit ratio</th><th class="num">L1 hits</th><th class="num">L2 hits</th><th class="num">misses</th><th class="num">stale</th></tr></thead><tbody><tr class="empty"><td colspan="6">no cache lookups yet</td></tr></tbody></table>
  </div>
  <div class="panel"><h2>CPU profiles</h2>
    <table id="profiles"><thead><tr><th>taken</th><th>kind</th><th>route</th><th class="num">ms</th><th></th></tr></thead><tbody><tr class="empty"><td colspan="5">no saved profiles</td></tr></tbody></table>
  </div>
  <div class="panel"><h2>Recent slow queries</h2>
    <table id="slow-queries"><thead><tr><th>when</th><th class="num">ms</th><th>route</th><th>query</th></tr></thead><tbody><tr class="empty"><td colspan="4">none</td></tr></tbody></table>
  </div>
  <div class="panel"><h2>N+1 warnings</h2>
    <table id="n-plus-one"><thead><tr><th>when</th><th>route</th><th class="num">count</th><th>query</th></tr></thead><tbody><tr class="empty"><td colspan="4">none</td></tr></tbody></table>
  </div>
</section>
</main>
<script src="${asset(manifest, 'uPlot.iife.min.js')}"></script>
<script src="${asset(manifest, 'dashboard.js')}"></script>
</body>
</html>
`
}
