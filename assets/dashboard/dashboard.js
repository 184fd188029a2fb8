/* Hotpath dashboard: plain script, no framework. Reads Server-Sent Events from `events`. */
/* global document, window, EventSource, ResizeObserver, uPlot */
;(function () {
  'use strict'

  var POINTS = 180
  var COLORS = {
    blue: '#5aa9ff',
    green: '#46c68a',
    amber: '#f2b134',
    red: '#ff6b6b',
    violet: '#b58cff',
    grey: '#8b949e',
  }

  function $(id) {
    return document.getElementById(id)
  }

  function show(id, value, digits) {
    var element = $(id)
    if (element === null) return
    if (value === null || value === undefined || Number.isNaN(value)) {
      element.textContent = '–'
      element.setAttribute('data-value', '')
      return
    }
    element.setAttribute('data-value', String(value))
    element.textContent = format(value, digits)
  }

  function format(value, digits) {
    if (digits === undefined) digits = value >= 100 ? 0 : value >= 10 ? 1 : 2
    return value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: 0 })
  }

  function percent(share) {
    return share === null || share === undefined ? null : Math.round(share * 1000) / 10
  }

  function time(epochMs) {
    return new Date(epochMs).toLocaleTimeString('en-GB', { hour12: false })
  }

  // ------------------------------------------------------------------ charts

  var charts = []

  function chart(id, series, options) {
    var element = $(id)
    var data = [[]]
    var uSeries = [{}]
    series.forEach(function (s) {
      data.push([])
      uSeries.push({
        label: s.label,
        stroke: s.color,
        width: 1.5,
        fill: s.fill ? s.color + '22' : undefined,
        scale: s.scale || 'y',
        value: function (_u, v) {
          return v === null || v === undefined ? '–' : format(v)
        },
      })
    })
    var axisStyle = {
      stroke: COLORS.grey,
      grid: { stroke: '#30363d', width: 1 },
      ticks: { stroke: '#30363d' },
    }
    var timeAxis = Object.assign(
      {
        values: function (_u, splits) {
          return splits.map(function (v) {
            return time(v * 1000)
          })
        },
      },
      axisStyle,
    )
    var axes = [timeAxis, Object.assign({ size: 60 }, axisStyle)]
    if (options && options.y2)
      axes.push(Object.assign({ side: 1, scale: 'y2', size: 48 }, axisStyle, { grid: { show: false } }))
    var scales = { x: { time: true }, y: { range: (options && options.yRange) || rangeFromZero } }
    if (options && options.y2) scales.y2 = { range: rangeFromZero }
    var plot = new uPlot(
      {
        width: element.clientWidth || 400,
        height: 150,
        series: uSeries,
        axes: axes,
        scales: scales,
        legend: { live: false },
        cursor: { drag: { x: false, y: false } },
      },
      data,
      element,
    )
    var entry = { plot: plot, data: data, element: element }
    charts.push(entry)
    return entry
  }

  function rangeFromZero(_u, _min, max) {
    return [0, max > 0 ? max * 1.1 : 1]
  }

  function push(entry, t, values) {
    entry.data[0].push(t)
    values.forEach(function (v, i) {
      entry.data[i + 1].push(v === undefined ? null : v)
    })
    if (entry.data[0].length > POINTS)
      entry.data.forEach(function (column) {
        column.shift()
      })
    entry.plot.setData(entry.data)
  }

  var rpsChart = chart('chart-rps', [
    { label: 'req/s', color: COLORS.blue, fill: true },
    { label: '5xx/s', color: COLORS.red },
  ])
  var latencyChart = chart('chart-latency', [
    { label: 'p50', color: COLORS.green },
    { label: 'p90', color: COLORS.amber },
    { label: 'p99', color: COLORS.red },
  ])
  var cacheChart = chart(
    'chart-cache',
    [
      { label: 'L1', color: COLORS.green, fill: true },
      { label: 'L2', color: COLORS.blue },
      { label: 'miss', color: COLORS.red },
      { label: 'stale/s', color: COLORS.violet, scale: 'y2' },
    ],
    {
      yRange: function () {
        return [0, 100]
      },
      y2: true,
    },
  )
  var loopChart = chart('chart-loop', [
    { label: 'p99', color: COLORS.amber },
    { label: 'max', color: COLORS.red },
  ])
  var memoryChart = chart('chart-memory', [
    { label: 'heap used', color: COLORS.violet, fill: true },
    { label: 'RSS', color: COLORS.blue },
  ])
  var wbChart = chart(
    'chart-wb',
    [
      { label: 'pending', color: COLORS.amber, fill: true },
      { label: 'lag ms', color: COLORS.red, scale: 'y2' },
    ],
    { y2: true },
  )

  if (typeof ResizeObserver === 'function') {
    var observer = new ResizeObserver(function () {
      charts.forEach(function (entry) {
        var width = entry.element.clientWidth
        if (width > 0 && width !== entry.plot.width) entry.plot.setSize({ width: width, height: 150 })
      })
    })
    charts.forEach(function (entry) {
      observer.observe(entry.element)
    })
  }

  // ------------------------------------------------------------------ tables

  function fill(tableId, rows, columns, emptyText) {
    var body = $(tableId).tBodies[0]
    body.textContent = ''
    if (rows.length === 0) {
      var tr = document.createElement('tr')
      tr.className = 'empty'
      var td = document.createElement('td')
      td.colSpan = columns
      td.textContent = emptyText
      tr.appendChild(td)
      body.appendChild(tr)
      return
    }
    rows.forEach(function (cells) {
      var row = document.createElement('tr')
      cells.forEach(function (cell) {
        var td = document.createElement('td')
        if (cell && cell.node) td.appendChild(cell.node)
        else td.textContent = cell === null || cell === undefined ? '' : String(cell)
        if (cell && cell.className) td.className = cell.className
        if (cell && cell.title) td.title = cell.title
        if (typeof cell === 'number') td.className = 'num'
        row.appendChild(td)
      })
      body.appendChild(row)
    })
  }

  function code(text) {
    var element = document.createElement('code')
    element.textContent = text
    return { node: element, title: text }
  }

  function renderNamespaces(namespaces) {
    fill(
      'namespaces',
      namespaces.map(function (ns) {
        return [
          ns.namespace,
          {
            node: document.createTextNode(ns.hitRatio === null ? '–' : percent(ns.hitRatio) + '%'),
            className: 'num',
          },
          ns.l1Hits,
          ns.l2Hits,
          ns.misses,
          ns.stale,
        ]
      }),
      6,
      'no cache lookups yet',
    )
  }

  function renderProfiles(profiles) {
    fill(
      'profiles',
      profiles.slice(0, 12).map(function (p) {
        var link = document.createElement('a')
        link.href = 'profiles/' + encodeURIComponent(p.id)
        link.textContent = 'download'
        link.setAttribute('download', p.id + '.cpuprofile')
        return [
          time(Date.parse(p.createdAt)),
          p.kind,
          p.route ? p.method + ' ' + p.route : p.kind === 'process' ? 'whole process' : '',
          Math.round(p.durationMs),
          { node: link },
        ]
      }),
      5,
      'no saved profiles',
    )
  }

  function renderFindings(findings) {
    fill(
      'slow-queries',
      findings.slowQueries.map(function (q) {
        return [time(q.at), q.durationMs, q.route || '', code(q.sql)]
      }),
      4,
      'none',
    )
    fill(
      'n-plus-one',
      findings.nPlusOne.map(function (f) {
        return [time(f.at), f.route, f.count, code(f.shape)]
      }),
      4,
      'none',
    )
  }

  // ------------------------------------------------------------------ samples

  var MB = 1024 * 1024

  function onSample(sample) {
    var t = sample.t / 1000
    var http = sample.http
    var cache = sample.cache
    var wb = sample.writeBehind
    var loop = sample.eventLoop
    var memory = sample.memory

    show('rps', http ? http.rps : null, http && http.rps >= 10 ? 0 : 1)
    show('error-rps', http ? http.errorRps : null, 1)
    show('p50', http ? http.p50Ms : null)
    show('p90', http ? http.p90Ms : null)
    show('p99', http ? http.p99Ms : null)

    show('hit-ratio', cache ? percent(cache.hitRatio) : null, 1)
    show('hit-l1', cache ? percent(cache.l1) : null, 1)
    show('hit-l2', cache ? percent(cache.l2) : null, 1)
    show('hit-miss', cache ? percent(cache.miss) : null, 1)
    var bar = $('hit-bar').children
    var shares = cache && cache.hitRatio !== null ? [cache.l1, cache.l2, cache.miss] : [0, 0, 0]
    for (var i = 0; i < 3; i++) bar[i].style.width = (shares[i] || 0) * 100 + '%'
    show('stale', cache ? cache.stalePerS : null, 1)
    show('stale-total', cache ? cache.staleTotal : null, 0)
    show('loader', cache ? cache.loaderMeanMs : null)
    show('loads', cache ? cache.loadsPerS : null, 1)
    if (cache) renderNamespaces(cache.namespaces)

    $('tile-wb-pending').classList.toggle('off', wb === null)
    show('wb-pending', wb ? wb.pending : null, 0)
    show('wb-lag', wb ? wb.lagMs : null, 0)

    show('el-p99', loop.p99Ms)
    show('el-max', loop.maxMs)
    show('heap', memory.heapUsedBytes / MB, 1)
    show('rss', memory.rssBytes / MB, 0)

    push(rpsChart, t, [http ? http.rps : null, http ? http.errorRps : null])
    push(latencyChart, t, [http ? http.p50Ms : null, http ? http.p90Ms : null, http ? http.p99Ms : null])
    push(cacheChart, t, [
      cache ? percent(cache.l1) : null,
      cache ? percent(cache.l2) : null,
      cache ? percent(cache.miss) : null,
      cache ? cache.stalePerS : null,
    ])
    push(loopChart, t, [loop.p99Ms, loop.maxMs])
    push(memoryChart, t, [memory.heapUsedBytes / MB, memory.rssBytes / MB])
    push(wbChart, t, [wb ? wb.pending : null, wb ? wb.lagMs : null])

    $('updated').textContent = 'updated ' + time(sample.t)
    document.body.setAttribute(
      'data-samples',
      String(Number(document.body.getAttribute('data-samples') || 0) + 1),
    )
  }

  // ------------------------------------------------------------------ stream

  var status = $('status')
  function setStatus(state, text) {
    status.setAttribute('data-state', state)
    status.textContent = text
  }

  var source = new EventSource(document.body.getAttribute('data-events'))
  source.addEventListener('open', function () {
    setStatus('live', 'live')
  })
  source.addEventListener('error', function () {
    setStatus('down', source.readyState === EventSource.CLOSED ? 'disconnected' : 'reconnecting…')
  })
  source.addEventListener('hello', function (event) {
    var hello = JSON.parse(event.data)
    $('tile-wb-pending').classList.toggle('off', !hello.writeBehind)
    if (!hello.writeBehind) $('caption-wb').textContent = 'Write-behind (no queue on this server)'
    if (!hello.profiles) fill('profiles', [], 5, 'profiling is not enabled')
  })
  source.addEventListener('sample', function (event) {
    onSample(JSON.parse(event.data))
  })
  source.addEventListener('findings', function (event) {
    renderFindings(JSON.parse(event.data))
  })
  source.addEventListener('profiles', function (event) {
    renderProfiles(JSON.parse(event.data))
  })
  window.addEventListener('beforeunload', function () {
    source.close()
  })
})()
