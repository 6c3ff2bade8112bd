// gavel operator console: plain browser JavaScript, no build step. Every value from the ledger is
// written with textContent (never as HTML), so hostile entry text shows as text.

const COLORS = {
  permit: '#1a7f37',
  'permit-with-warning': '#b08800',
  escalate: '#8250df',
  deny: '#cf222e',
};
const KEY = 'gavel.console.token';
const $ = (id) => document.getElementById(id);

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}

function token() {
  return sessionStorage.getItem(KEY);
}

async function api(path, init) {
  const r = await fetch(path, {
    ...init,
    headers: { authorization: `Bearer ${token()}`, ...init?.headers },
  });
  const body = await r.json().catch(() => ({}));
  if (!r.ok) {
    const msg = body?.error?.message || `${r.status} ${r.statusText}`;
    const err = new Error(`${path}: ${msg}`);
    err.status = r.status;
    throw err;
  }
  return body;
}

function showError(msg) {
  const e = $('error');
  e.textContent = msg;
  e.hidden = msg === '';
}

function renderStatus(s) {
  const dl = $('status');
  dl.replaceChildren();
  const rows = [
    ['ready', s.ready ? 'yes' : 'no'],
    ['version', s.version],
    ['uptime', `${Math.round(s.uptime_s)} s`],
    ['ledger', s.ledger.path],
    ['entries', s.ledger.size],
    ['head', s.ledger.head],
    [
      'policies',
      s.policies.map((p) => `${p.name} ${p.version} (${p.gates.length} gates)`).join(', ') || 'none',
    ],
    ['you are', s.identity],
  ];
  for (const [k, v] of rows) {
    dl.append(el('dt', k), el('dd', v));
  }
}

function verdictOf(e) {
  if (e.kind === 'gate.decision' && e.payload && typeof e.payload.verdict === 'string')
    return e.payload.verdict;
  return undefined;
}

function renderEntries(list) {
  const tb = $('entries').tBodies[0];
  tb.replaceChildren();
  for (const e of [...list].reverse()) {
    const tr = el('tr');
    tr.append(
      el('td', e.seq),
      el('td', String(e.timestamp).replace('T', ' ').slice(0, 19)),
      el('td', e.kind),
      el('td', e.agent),
    );
    const v = verdictOf(e);
    const td = el('td');
    if (v !== undefined) td.append(el('span', v, `verdict ${v in COLORS ? v : ''}`));
    else td.textContent = e.outcome;
    tr.append(td, el('td', e.detail, 'detail'));
    tb.append(tr);
  }
}

function safeLink(url) {
  // Only http(s) explorer links become links; anything else stays text.
  try {
    const u = new URL(url);
    return u.protocol === 'https:' || u.protocol === 'http:' ? u.href : undefined;
  } catch {
    return undefined;
  }
}

function renderAnchors(a) {
  const tb = $('anchors').tBodies[0];
  tb.replaceChildren();
  const rows = [...(a.anchors || [])].reverse().slice(0, 20);
  if (rows.length === 0) {
    const tr = el('tr');
    const td = el('td', (a.targets || []).length === 0 ? 'anchoring is not configured' : 'no anchors yet');
    td.colSpan = 5;
    tr.append(td);
    tb.append(tr);
  }
  for (const r of rows) {
    const tr = el('tr');
    tr.dataset.state = r.state;
    tr.append(
      el('td', r.anchorId),
      el('td', `${r.chain} ${r.network}`),
      el('td', r.state, `state-${r.state}`),
    );
    tr.append(el('td', r.slot === undefined ? '' : r.slot));
    const td = el('td');
    const href = r.explorer ? safeLink(r.explorer) : undefined;
    if (href) {
      const link = el('a', r.tx);
      link.href = href;
      link.target = '_blank';
      link.rel = 'noopener noreferrer';
      td.append(link);
    } else if (r.tx) {
      td.append(el('code', r.tx));
    }
    if (r.reason) td.append(el('div', r.reason));
    tr.append(td);
    tb.append(tr);
  }
}

function renderChart(stats) {
  const svgNS = 'http://www.w3.org/2000/svg';
  const W = 600;
  const H = 160;
  const pad = 24;
  const svg = document.createElementNS(svgNS, 'svg');
  svg.setAttribute('viewBox', `0 0 ${W} ${H + pad}`);
  svg.setAttribute('width', '100%');
  svg.setAttribute('role', 'img');
  const totals = stats.series.map((p) => stats.verdicts.reduce((s, v) => s + (p.counts[v] || 0), 0));
  const max = Math.max(1, ...totals);
  const bw = (W - pad) / stats.series.length;
  svg.setAttribute('aria-label', `decisions per minute, at most ${max}`);
  stats.series.forEach((p, i) => {
    let y = H;
    for (const v of stats.verdicts) {
      const n = p.counts[v] || 0;
      if (n === 0) continue;
      const h = (n / max) * (H - 10);
      y -= h;
      const r = document.createElementNS(svgNS, 'rect');
      r.setAttribute('x', String(pad + i * bw + 1));
      r.setAttribute('y', String(y));
      r.setAttribute('width', String(Math.max(1, bw - 2)));
      r.setAttribute('height', String(h));
      r.setAttribute('fill', COLORS[v]);
      r.setAttribute('class', `bar bar-${v}`);
      const t = document.createElementNS(svgNS, 'title');
      t.textContent = `${p.minute.slice(11, 16)} ${v}: ${n}`;
      r.append(t);
      svg.append(r);
    }
  });
  const axis = document.createElementNS(svgNS, 'text');
  axis.setAttribute('x', '0');
  axis.setAttribute('y', '12');
  axis.setAttribute('font-size', '11');
  axis.textContent = String(max);
  svg.append(axis);
  const base = document.createElementNS(svgNS, 'line');
  base.setAttribute('x1', String(pad));
  base.setAttribute('x2', String(W));
  base.setAttribute('y1', String(H));
  base.setAttribute('y2', String(H));
  base.setAttribute('stroke', '#d0d7de');
  svg.append(base);
  $('chart').replaceChildren(svg);
  const legend = $('legend');
  legend.replaceChildren();
  for (const v of stats.verdicts) {
    const li = el('li', `${v} ${stats.series.reduce((s, p) => s + (p.counts[v] || 0), 0)}`);
    li.style.setProperty('--c', COLORS[v]);
    legend.append(li);
  }
}

async function refresh() {
  if (!token()) return;
  try {
    const [status, recent, stats] = await Promise.all([
      api('/v1/status'),
      api('/v1/entries/recent?n=30'),
      api('/v1/stats/decisions?minutes=30'),
    ]);
    renderStatus(status);
    renderEntries(recent.entries);
    renderChart(stats);
    try {
      renderAnchors(await api('/v1/anchors?n=50'));
    } catch (err) {
      renderAnchors({ anchors: [], targets: err.status === 404 ? [] : [{}] });
    }
    $('app').hidden = false;
    $('token-form').hidden = true;
    $('forget').hidden = false;
    showError('');
    $('updated').textContent = `updated ${new Date().toLocaleTimeString()}`;
  } catch (err) {
    if (err.status === 401 || err.status === 403) {
      sessionStorage.removeItem(KEY);
      $('token-form').hidden = false;
      $('forget').hidden = true;
      $('app').hidden = true;
    }
    showError(err.message);
  }
}

async function verify() {
  const out = $('verify-result');
  out.dataset.state = 'running';
  out.textContent = 'verifying...';
  try {
    const r = await api('/v1/verify');
    out.dataset.state = r.ok ? 'ok' : 'fail';
    out.textContent = r.ok
      ? `OK: ${r.entries} entries, ${r.keyed_checks} seals checked`
      : `FAILED at entry ${r.failed_entry}: ${r.message}`;
  } catch (err) {
    out.dataset.state = 'fail';
    out.textContent = err.message;
  }
}

document.addEventListener('DOMContentLoaded', () => {
  $('token-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const t = $('token').value.trim();
    if (t === '') return;
    sessionStorage.setItem(KEY, t);
    $('token').value = '';
    refresh();
  });
  $('forget').addEventListener('click', () => {
    sessionStorage.removeItem(KEY);
    location.reload();
  });
  $('verify').addEventListener('click', verify);
  refresh();
  setInterval(refresh, 3000);
});
