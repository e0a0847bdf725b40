import { api, t, el, $, fmtTime, fmtNum, localToRFC3339, showError } from './common.js';
import { svg } from './dash.js';

const form = $('#timeline-form');
let items = [];
let next = '';
let query = '';

async function search(more) {
  if (!more) { items = []; next = ''; }
  const p = new URLSearchParams(query);
  if (more && next) p.set('cursor', next);
  const r = await api('GET', '/api/v1/sightings?' + p.toString());
  items = items.concat(r.items);
  next = r.next;
  render();
}

function render() {
  const person = new URLSearchParams(query).get('person');
  const sites = [...new Set(items.map((s) => s.site))].sort();
  $('#timeline-title').textContent = t('timeline.result', { person, n: items.length, sites: sites.length });
  $('#timeline tbody').replaceChildren(...items.map((s) => el('tr', { class: 'timeline-row', dataset: { site: s.site, id: s.id } },
    el('td', {}, s.crop ? el('img', { class: 'thumb', src: '/api/v1/crops/' + s.crop, alt: '' }) : ''),
    el('td', {}, fmtTime(s.best_at)), el('td', {}, el('b', {}, s.site)), el('td', {}, s.camera), el('td', {}, fmtNum(s.score)))));
  $('#more').hidden = !next;
  drawLanes(sites);
}

// drawLanes draws one lane per facility with a dot at each sighting, so
// the person's movement between facilities reads at a glance.
function drawLanes(sites) {
  const box = $('#timeline-plot');
  if (!items.length) { box.replaceChildren(el('p', { class: 'muted' }, t('timeline.none'))); return; }
  const times = items.map((s) => Date.parse(s.best_at));
  let lo = Math.min(...times), hi = Math.max(...times);
  if (hi - lo < 60000) { lo -= 30000; hi += 30000; }
  const W = 900, lane = 34, L = 110, R = 16, H = sites.length * lane + 26;
  const x = (ms) => L + (W - L - R) * (ms - lo) / (hi - lo);
  const g = [];
  sites.forEach((site, i) => {
    const y = 14 + i * lane;
    g.push(svg('text', { x: L - 8, y: y + 4, 'text-anchor': 'end', class: 'lane-label', text: site }));
    g.push(svg('line', { x1: L, x2: W - R, y1: y, y2: y, class: 'lane' }));
  });
  const sorted = [...items].sort((a, b) => Date.parse(a.best_at) - Date.parse(b.best_at));
  const path = sorted.map((s) => `${x(Date.parse(s.best_at))},${14 + sites.indexOf(s.site) * lane}`).join(' ');
  g.push(svg('polyline', { points: path, class: 'route' }));
  for (const s of sorted) {
    g.push(svg('circle', { cx: x(Date.parse(s.best_at)), cy: 14 + sites.indexOf(s.site) * lane, r: 5, class: 'dot' },
      svg('title', { text: `${fmtTime(s.best_at)} · ${s.site} · ${s.camera}` })));
  }
  g.push(svg('text', { x: L, y: H - 4, class: 'tick', text: fmtTime(new Date(lo).toISOString()) }));
  g.push(svg('text', { x: W - R, y: H - 4, class: 'tick', 'text-anchor': 'end', text: fmtTime(new Date(hi).toISOString()) }));
  box.replaceChildren(svg('svg', { viewBox: `0 0 ${W} ${H}`, width: '100%', role: 'img', 'aria-label': t('timeline.title') }, g));
}

form.addEventListener('submit', (ev) => {
  ev.preventDefault();
  const p = new URLSearchParams({ person: form.person.value.trim(), limit: '200' });
  const from = localToRFC3339(form.from.value), to = localToRFC3339(form.to.value);
  if (from) p.set('from', from);
  if (to) p.set('to', to);
  query = p.toString();
  history.replaceState(null, '', '?person=' + encodeURIComponent(form.person.value.trim()));
  search(false).catch(showError);
});
$('#more').addEventListener('click', () => search(true).catch(showError));

const initial = new URLSearchParams(location.search).get('person');
if (initial) {
  form.person.value = initial;
  form.requestSubmit();
}
