import { api, t, el, $, fmtTime, fmtNum, showError, page } from './common.js';
import { svg, fmtDuration, liveEvents } from './dash.js';

const canWatch = ['operator', 'supervisor'].includes(page.role);
const palette = ['#5aa9e6', '#3ddc84', '#ffb020', '#c678dd', '#ff6a3d', '#56b6c2', '#e5c07b', '#98c379'];
let siteColours = {};

// swatch is a site's colour key. The colour is set through the CSSOM: the
// strict CSP refuses style attributes.
function swatch(site) {
  const n = el('span', { class: 'swatch' });
  n.style.background = siteColours[site] || palette[0];
  return n;
}

// Facilities.
async function loadSites() {
  const sites = await api('GET', '/api/v1/sites');
  siteColours = {};
  sites.forEach((s, i) => { siteColours[s.id] = palette[i % palette.length]; });
  const body = $('#sites tbody');
  body.replaceChildren(...sites.map(siteRow));
  if (!sites.length) body.append(el('tr', {}, el('td', { colspan: 9, class: 'muted' }, t('sites.none'))));
}

function siteRow(s) {
  const up = s.cameras.filter((c) => c.state === 'up').length;
  const cams = el('div', { class: 'cams' }, s.cameras.map((c) =>
    el('span', { class: 'cam cam-' + c.state, title: c.camera + ': ' + t('camera.' + c.state) + (c.reason ? ' — ' + c.reason : ''), dataset: { camera: c.camera } }, c.camera)));
  const gaps = s.open_gaps
    ? el('span', { class: 'warn' }, t('sites.gaps_n', { n: s.open_gaps, missing: s.missing }),
      s.gaps.map((g) => el('div', { class: 'small muted' }, `${g.from}–${g.to} · ${t('sites.requested', { n: g.requested })}`)))
    : el('span', { class: 'ok' }, t('sites.no_gaps'));
  return el('tr', { dataset: { site: s.id, online: String(s.online) } },
    el('td', { class: 'site-id' }, swatch(s.id), s.id),
    el('td', {}, el('span', { class: 'state ' + (s.online ? 'state-online' : 'state-offline'), title: s.reason || '' }, s.online ? t('sites.online') : t('sites.offline'))),
    el('td', {}, fmtTime(s.last_seen)),
    el('td', {}, el('div', { class: 'cams-count' }, `${s.cameras_up}/${s.cameras_total}`), cams),
    el('td', { class: 'mono' }, `${s.contiguous_seq} / ${s.highest_seq}`),
    el('td', {}, gaps),
    el('td', {}, s.outbox_depth > 0 ? el('span', { class: 'warn' }, String(s.outbox_depth)) : '0'),
    el('td', { class: 'mono gallery' }, s.gallery_revision ? String(s.gallery_revision) : '—'),
    el('td', { class: 'muted' }, s.version || ''));
}

// Plots: per site, events over time (sightings as bars, alerts as a line)
// and alert outcomes (confirmed above, rejected below the axis).
async function loadPlots() {
  const data = await api('GET', '/api/v1/counts?hours=24&bucket=3600');
  const box = $('#plots');
  const sites = [...new Set(data.counts.map((c) => c.site))].sort();
  if (!sites.length) {
    box.replaceChildren(el('p', { class: 'muted' }, t('plots.none')));
    return;
  }
  const from = Date.parse(data.from), to = Date.parse(data.to), step = data.bucket * 1000;
  const n = Math.round((to - from) / step);
  box.replaceChildren(...sites.map((site) => plot(site, data.counts.filter((c) => c.site === site), from, step, n)));
}

function plot(site, counts, from, step, n) {
  const W = 520, H = 150, L = 34, R = 8, T = 10, B = 22, mid = T + (H - T - B) * 0.62;
  const idx = (c) => Math.round((Date.parse(c.start) - from) / step);
  const maxEv = Math.max(1, ...counts.map((c) => Math.max(c.sightings, c.alerts)));
  const maxOut = Math.max(1, ...counts.map((c) => Math.max(c.confirmed, c.rejected)));
  const bw = (W - L - R) / n;
  const x = (i) => L + i * bw;
  const yEv = (v) => mid - (mid - T) * v / maxEv;
  const outH = (H - B) - mid - 4;
  const g = [];
  g.push(svg('line', { x1: L, x2: W - R, y1: mid, y2: mid, class: 'axis' }));
  g.push(svg('text', { x: L - 4, y: T + 8, class: 'tick', 'text-anchor': 'end', text: String(maxEv) }));
  g.push(svg('text', { x: L - 4, y: mid + 4, class: 'tick', 'text-anchor': 'end', text: '0' }));
  for (const c of counts) {
    const i = idx(c);
    if (c.sightings) g.push(svg('rect', { x: x(i) + 1, width: Math.max(bw - 2, 1), y: yEv(c.sightings), height: mid - yEv(c.sightings), fill: siteColours[site] || palette[0], class: 'bar' },
      svg('title', { text: `${fmtTime(c.start)}: ${t('plots.sightings')} ${c.sightings}, ${t('plots.alerts')} ${c.alerts}` })));
    if (c.confirmed) g.push(svg('rect', { x: x(i) + 1, width: Math.max(bw / 2 - 1, 1), y: mid + 2, height: outH * c.confirmed / maxOut, class: 'confirmed' }));
    if (c.rejected) g.push(svg('rect', { x: x(i) + bw / 2, width: Math.max(bw / 2 - 1, 1), y: mid + 2, height: outH * c.rejected / maxOut, class: 'rejected' }));
  }
  const pts = [];
  for (let i = 0; i < n; i++) {
    const c = counts.find((k) => idx(k) === i);
    pts.push(`${x(i) + bw / 2},${yEv(c ? c.alerts : 0)}`);
  }
  g.push(svg('polyline', { points: pts.join(' '), class: 'alerts-line' }));
  for (let i = 0; i <= n; i += Math.max(1, Math.round(n / 6))) {
    const d = new Date(from + i * step);
    g.push(svg('text', { x: x(i), y: H - 6, class: 'tick', 'text-anchor': 'middle', text: d.toLocaleTimeString(page.lang === 'en' ? 'en-GB' : 'ru-RU', { hour: '2-digit', minute: '2-digit' }) }));
  }
  const total = counts.reduce((a, c) => a + c.sightings, 0);
  return el('figure', { class: 'plot', dataset: { site } },
    el('figcaption', {}, swatch(site), site,
      el('span', { class: 'muted small' }, ' · ' + t('plots.caption', { n: total }))),
    svg('svg', { viewBox: `0 0 ${W} ${H}`, width: '100%', role: 'img', 'aria-label': site }, g),
    el('div', { class: 'legend small muted' },
      el('span', { class: 'key key-sightings' }), t('plots.sightings'), el('span', { class: 'key key-alerts' }), t('plots.alerts'),
      el('span', { class: 'key key-confirmed' }), t('plots.confirmed'), el('span', { class: 'key key-rejected' }), t('plots.rejected')));
}

// Alerts and decision latency.
async function loadAlerts() {
  const [lat, open] = await Promise.all([api('GET', '/api/v1/alerts/latency?hours=24'), api('GET', '/api/v1/alerts?undecided=true&limit=50')]);
  $('#latency tbody').replaceChildren(...lat.map((l) => el('tr', { dataset: { site: l.site } },
    el('td', {}, l.site), el('td', { class: l.open ? 'warn' : '' }, String(l.open)), el('td', {}, String(l.decided)),
    el('td', {}, l.decided ? fmtDuration(l.median_s) : '—'), el('td', {}, l.decided ? fmtDuration(l.p90_s) : '—'),
    el('td', {}, el('span', { class: 'ok' }, '✔ ' + l.confirmed), ' ', el('span', { class: 'bad' }, '✖ ' + l.rejected)))));
  $('#open-alerts').replaceChildren(...open.map(alertItem));
}

function alertItem(a) {
  const age = (Date.now() - Date.parse(a.at)) / 1000;
  return el('li', { class: 'open-alert sev-' + a.severity, dataset: { id: a.id } },
    el('span', { class: 'sev' }, a.severity), ' ',
    el('b', {}, a.site), ' · ', a.kind, a.person ? ' · ' + a.person : '', ' · ', a.camera,
    el('span', { class: 'muted small' }, ' · ' + t('alerts.waiting', { d: fmtDuration(Math.max(age, 0)) })));
}

// Live events.
function feed(kind, text, site) {
  const list = $('#feed');
  list.querySelector('.empty')?.remove();
  list.prepend(el('li', { class: 'event event-' + kind, dataset: { kind, site } },
    el('span', { class: 'muted small' }, new Date().toLocaleTimeString(page.lang === 'en' ? 'en-GB' : 'ru-RU')), ' ',
    el('span', { class: 'tag' }, t('event.' + kind)), ' ', el('b', {}, site), ' ', text));
  while (list.children.length > 60) list.lastChild.remove();
}

let refreshTimer = 0;
function refreshSoon(...loaders) {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(() => loaders.forEach((f) => f().catch(showError)), 500);
}

async function loadAll() {
  await loadSites();
  await Promise.all([loadPlots(), canWatch ? loadAlerts() : Promise.resolve()]);
}

if (!canWatch) {
  $('#live-card').hidden = true;
  $('#alerts-card').hidden = true;
}
loadAll().catch(showError);
if (canWatch) {
  liveEvents({
    sighting: (s) => { feed('sighting', `${s.person || t('event.unknown')} · ${s.camera} · ${fmtNum(s.score)}`, s.site); refreshSoon(loadSites, loadPlots); },
    alert: (a) => { feed('alert', `${a.kind} · ${a.person || ''} · ${a.camera}`, a.site); refreshSoon(loadAlerts, loadPlots); },
    decision: (d) => { feed('decision', `${t('decision.' + d.decision)} · ${d.by}`, d.site); refreshSoon(loadAlerts, loadPlots); },
    site: (s) => { feed('site', s.online ? t('sites.online') : t('sites.offline'), s.id); refreshSoon(loadSites); },
    camera: (c) => { feed('camera', `${c.camera}: ${t('camera.' + c.state)}`, c.site); refreshSoon(loadSites); },
  }, () => loadAll().catch(showError));
} else {
  setInterval(() => loadSites().catch(showError), 15000);
}
