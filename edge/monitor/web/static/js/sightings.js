import { api, el, $, fmtTime, fmtNum, showError, localToRFC3339 } from './common.js';
import { cropURL, personLabel } from './sightings-view.js';

const form = $('#sighting-filter');
const body = $('#sighting-table tbody');
const more = $('#more');
let next = '';

function query(before) {
  const q = new URLSearchParams();
  const add = (k, v) => { if (v) q.set(k, v); };
  add('person', form.person.value.trim());
  add('camera', form.camera.value);
  add('zone', form.zone.value);
  add('from', localToRFC3339(form.from.value));
  add('to', localToRFC3339(form.to.value));
  if (form.unknown.checked) q.set('unknown', 'true');
  q.set('limit', '100');
  add('before', before);
  return '/api/v1/sightings?' + q.toString();
}

let highlight = '';
const cameraNames = new Map();

function row(s) {
  return el('tr', { dataset: { id: s.id }, class: s.id === highlight ? 'highlight' : null },
    el('td', {}, s.has_crop ? el('img', { class: 'thumb', src: cropURL(s), loading: 'lazy', alt: '' }) : ''),
    el('td', { text: fmtTime(s.last_seen || s.first_seen) }),
    el('td', {}, personLabel(s)),
    el('td', { text: cameraNames.get(s.camera) || s.camera }),
    el('td', { text: s.zone }),
    el('td', { text: fmtNum(s.score) }),
    el('td', { text: fmtNum(s.margin) }),
    el('td', { text: String(s.frames ?? '') }),
    el('td', { text: '#' + (s.track ?? '') }));
}

async function search(append) {
  try {
    const data = await api('GET', query(append ? next : ''));
    const items = (data && data.sightings) || [];
    if (!append) body.replaceChildren();
    body.append(...items.map(row));
    next = (data && data.next) || '';
    more.hidden = !next;
    $('#sightings-empty').hidden = body.children.length > 0;
  } catch (e) {
    showError(e);
  }
}

async function fillSelects() {
  try {
    const cams = ((await api('GET', '/api/v1/cameras')) || {}).cameras || [];
    for (const c of cams) if (c.name) cameraNames.set(c.id, c.name);
    form.camera.append(...cams.map((c) => el('option', { value: c.id, text: c.name || c.id })));
    const zones = [...new Set(cams.map((c) => c.zone).filter(Boolean))];
    form.zone.append(...zones.map((z) => el('option', { value: z, text: z })));
  } catch (e) {
    showError(e);
  }
}

// datetime-local wants the browser's local time without a zone.
function toLocalInput(d) {
  const pad = (n) => String(n).padStart(2, '0');
  return d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' + pad(d.getDate()) + 'T' + pad(d.getHours()) + ':' + pad(d.getMinutes());
}

// A link from an alert names a sighting: its camera, person and moment
// (a few minutes either side) fill the filter, and its row is marked.
const initial = new URLSearchParams(location.search);
if (initial.get('person')) form.person.value = initial.get('person');
const at = new Date(initial.get('at') || '');
if (!Number.isNaN(at.getTime())) {
  form.from.value = toLocalInput(new Date(at.getTime() - 5 * 60e3));
  form.to.value = toLocalInput(new Date(at.getTime() + 6 * 60e3));
}
highlight = initial.get('sighting') || '';
form.addEventListener('submit', (ev) => { ev.preventDefault(); search(false); });
more.addEventListener('click', () => search(true));
fillSelects().then(() => {
  if (initial.get('camera')) form.camera.value = initial.get('camera');
  return search(false);
});
