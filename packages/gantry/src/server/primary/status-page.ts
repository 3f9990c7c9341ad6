/**
 * The status page (/status on metrics-bind): one self-contained HTML file, no external assets. It polls
 * /status.json every two seconds and computes the rates itself from two successive snapshots: requests
 * per second, errors (5xx) per second, and latency percentiles of the last interval from the histogram's
 * bucket counts; for job workers (gantry run), the same of jobs: jobs per second, failed jobs, durations. Charts are inline SVG of the last two minutes.
 */
export const STATUS_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>gantry status</title>
<link rel="icon" href="data:,">
<style>
  :root { --bg: #0f1419; --panel: #182029; --text: #e6edf3; --muted: #8b98a5; --accent: #4cc2ff; --ok: #3fb950; --warn: #d29922; --bad: #f85149; }
  * { box-sizing: border-box; }
  body { margin: 0; padding: 24px; background: var(--bg); color: var(--text); font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; }
  header { display: flex; align-items: baseline; gap: 16px; margin-bottom: 20px; flex-wrap: wrap; }
  h1 { font-size: 20px; margin: 0; }
  .muted { color: var(--muted); }
  .badge { padding: 2px 10px; border-radius: 999px; font-weight: 600; font-size: 12px; }
  .badge.ok { background: rgba(63,185,80,.15); color: var(--ok); }
  .badge.bad { background: rgba(248,81,73,.15); color: var(--bad); }
  .grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(220px, 1fr)); gap: 16px; margin-bottom: 16px; }
  .panel { background: var(--panel); border-radius: 10px; padding: 16px; }
  .label { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .06em; }
  .value { font-size: 28px; font-weight: 600; margin-top: 4px; font-variant-numeric: tabular-nums; }
  .value small { font-size: 14px; color: var(--muted); font-weight: 400; }
  svg { width: 100%; height: 60px; margin-top: 8px; display: block; }
  table { width: 100%; border-collapse: collapse; font-variant-numeric: tabular-nums; }
  th, td { text-align: left; padding: 8px 10px; border-bottom: 1px solid #26313c; }
  th { color: var(--muted); font-weight: 500; font-size: 12px; text-transform: uppercase; letter-spacing: .05em; }
  .state-ready { color: var(--ok); } .state-booting { color: var(--warn); } .state-draining { color: var(--muted); }
  .wide { grid-column: 1 / -1; }
</style>
</head>
<body>
<header>
  <h1>gantry</h1>
  <span id="app" class="muted"></span>
  <span id="ready" class="badge"></span>
  <span id="uptime" class="muted"></span>
</header>
<div class="grid">
  <div class="panel"><div class="label" id="rps-label">Throughput</div><div class="value" id="rps">–</div><svg id="rps-chart" viewBox="0 0 120 60" preserveAspectRatio="none"></svg></div>
  <div class="panel"><div class="label" id="latency-label">Latency p50 / p95 / p99</div><div class="value" id="latency">–</div><svg id="p99-chart" viewBox="0 0 120 60" preserveAspectRatio="none"></svg></div>
  <div class="panel"><div class="label" id="errors-label">Errors (5xx)</div><div class="value" id="errors">–</div><svg id="err-chart" viewBox="0 0 120 60" preserveAspectRatio="none"></svg></div>
  <div class="panel"><div class="label" id="inflight-label">In flight · served</div><div class="value" id="inflight">–</div><div class="muted" id="classes"></div></div>
</div>
<div class="grid">
  <div class="panel wide">
    <div class="label" id="workers-label">Workers</div>
    <table>
      <thead><tr><th>Worker</th><th>PID</th><th>State</th><th>Up</th><th>Memory (RSS)</th><th>Heap used</th><th>Event-loop lag p99</th></tr></thead>
      <tbody id="workers"></tbody>
    </table>
  </div>
  <div class="panel"><div class="label">Restarts</div><div id="restarts" class="value">–</div><div class="muted" id="restart-reasons"></div></div>
  <div class="panel"><div class="label">Reloads</div><div id="reloads" class="value">–</div><div class="muted" id="reload-results"></div></div>
  <div class="panel"><div class="label">Primary</div><div id="primary" class="value">–</div><div class="muted">memory (RSS)</div></div>
</div>
<script>
const history = { rps: [], p99: [], err: [] };
let previous;
const fmt = {
  ms: (s) => s === undefined ? '–' : (s * 1000 < 10 ? (s * 1000).toFixed(1) : Math.round(s * 1000)) + '',
  s: (s) => s === undefined ? '–' : s < 10 ? s.toFixed(2) : Math.round(s) + '',
  mb: (b) => (b / 1048576).toFixed(0) + ' MB',
  duration: (s) => s < 60 ? s + ' s' : s < 3600 ? Math.floor(s / 60) + ' min' : Math.floor(s / 3600) + ' h ' + Math.floor((s % 3600) / 60) + ' min',
  rate: (r) => r < 10 ? r.toFixed(1) : Math.round(r).toLocaleString('en'),
};
function quantile(buckets, q) {
  const bounds = Object.keys(buckets).filter((le) => le !== '+Inf').map(Number).sort((a, b) => a - b);
  const total = buckets['+Inf'] ?? 0;
  if (total <= 0) return undefined;
  const rank = q * total;
  let lower = 0, below = 0;
  for (const bound of bounds) {
    const count = buckets[String(bound)] ?? 0;
    if (count >= rank) return lower + ((rank - below) / Math.max(count - below, 1)) * (bound - lower);
    lower = bound; below = count;
  }
  return lower;
}
function spark(id, values, color) {
  const max = Math.max(...values, 1e-9);
  const points = values.map((v, i) => (i * 120 / Math.max(values.length - 1, 1)).toFixed(1) + ',' + (58 - (v / max) * 54).toFixed(1)).join(' ');
  document.getElementById(id).innerHTML = values.length > 1 ? '<polyline fill="none" stroke="' + color + '" stroke-width="1.5" points="' + points + '"/>' : '';
}
function push(list, value) { list.push(value); if (list.length > 60) list.shift(); }
async function refresh() {
  let now;
  try { now = await (await fetch('status.json', { cache: 'no-store' })).json(); } catch { return; }
  now.at = Date.now();
  document.getElementById('app').textContent = now.app + ' · primary pid ' + now.pid;
  const ready = document.getElementById('ready');
  ready.textContent = now.ready ? 'ready' : 'not ready';
  ready.className = 'badge ' + (now.ready ? 'ok' : 'bad');
  document.getElementById('uptime').textContent = 'up ' + fmt.duration(now.uptimeSeconds);
  // Web workers' requests or job workers' jobs, in one shape: done, failed, under way, durations.
  const work = (s) => s.kind === 'jobs'
    ? { total: s.jobs.total, failed: s.jobs.byOutcome.failed ?? 0, running: s.jobs.running, buckets: s.jobs.durationBuckets, classes: s.jobs.byOutcome }
    : { total: s.requests.total, failed: s.requests.byStatusClass['5xx'] ?? 0, running: s.requests.inFlight, buckets: s.requests.durationBuckets, classes: s.requests.byStatusClass };
  const jobs = now.kind === 'jobs';
  const unit = jobs ? { rate: 'jobs/s', done: 'done', duration: 's' } : { rate: 'req/s', done: 'served', duration: 'ms' };
  const duration = jobs ? fmt.s : fmt.ms;
  document.getElementById('rps-label').textContent = jobs ? 'Jobs' : 'Throughput';
  document.getElementById('latency-label').textContent = (jobs ? 'Job duration' : 'Latency') + ' p50 / p95 / p99';
  document.getElementById('errors-label').textContent = jobs ? 'Failed jobs' : 'Errors (5xx)';
  document.getElementById('inflight-label').textContent = jobs ? 'Running · done' : 'In flight · served';
  const current = work(now);
  if (previous) {
    const last = work(previous);
    const seconds = Math.max((now.at - previous.at) / 1000, 0.001);
    const rps = Math.max(current.total - last.total, 0) / seconds;
    const errors = Math.max(current.failed - last.failed, 0) / seconds;
    const delta = {};
    for (const [le, count] of Object.entries(current.buckets)) delta[le] = Math.max(count - (last.buckets[le] ?? 0), 0);
    const [p50, p95, p99] = [0.5, 0.95, 0.99].map((q) => quantile(delta, q));
    push(history.rps, rps); push(history.p99, p99 ?? 0); push(history.err, errors);
    document.getElementById('rps').innerHTML = fmt.rate(rps) + ' <small>' + unit.rate + '</small>';
    document.getElementById('latency').innerHTML = duration(p50) + ' / ' + duration(p95) + ' / ' + duration(p99) + ' <small>' + unit.duration + '</small>';
    document.getElementById('errors').innerHTML = fmt.rate(errors) + ' <small>/s</small>';
    spark('rps-chart', history.rps, '#4cc2ff'); spark('p99-chart', history.p99, '#d29922'); spark('err-chart', history.err, '#f85149');
  }
  document.getElementById('inflight').innerHTML = current.running + ' <small>· ' + current.total.toLocaleString('en') + ' ' + unit.done + '</small>';
  document.getElementById('classes').textContent = Object.entries(current.classes).map(([c, n]) => c + ' ' + n.toLocaleString('en')).join(' · ');
  document.getElementById('workers-label').textContent = jobs ? 'Job workers' : 'Workers';
  document.getElementById('workers').innerHTML = now.workers.map((w) =>
    '<tr><td>' + w.slot + '</td><td>' + w.pid + '</td><td class="state-' + w.state + '">' + w.state + '</td><td>' +
    fmt.duration(Math.round((now.at - w.startedAt) / 1000)) + '</td><td>' + fmt.mb(w.rssBytes) + '</td><td>' + fmt.mb(w.heapUsedBytes) +
    '</td><td>' + fmt.ms(w.eventLoopLagP99Seconds) + ' ms</td></tr>').join('');
  const restarts = Object.values(now.restarts).reduce((a, b) => a + b, 0);
  document.getElementById('restarts').textContent = restarts;
  document.getElementById('restart-reasons').textContent = Object.entries(now.restarts).filter(([, n]) => n > 0).map(([r, n]) => r.replace('_', ' ') + ' ' + n).join(' · ') || 'none';
  document.getElementById('reloads').textContent = (now.reloads.succeeded ?? 0) + (now.reloads.failed ?? 0);
  document.getElementById('reload-results').textContent = (now.reloads.succeeded ?? 0) + ' succeeded · ' + (now.reloads.failed ?? 0) + ' failed';
  document.getElementById('primary').textContent = fmt.mb(now.primary.rssBytes);
  document.body.dataset.loaded = 'true';
  previous = now;
}
refresh();
setInterval(refresh, 2000);
</script>
</body>
</html>
`;
