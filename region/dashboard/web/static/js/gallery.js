// The master gallery: persons by ID or name, facility and status.
import { api, t, el, $, fmtTime, showError } from './common.js';
import { statusBadge, fillSites, personHref } from './gallery-common.js';

let next = '';

function row(p) {
  return el('tr', { class: 'person-row', dataset: { person: p.id } },
    el('td', { class: 'mono' }, el('a', { href: personHref(p.id) }, p.id)),
    el('td', {}, el('a', { href: personHref(p.id) }, p.display_name)),
    el('td', {}, p.facility || '—'),
    el('td', {}, statusBadge(p.status)),
    el('td', {}, String(p.photos)),
    el('td', {}, String(p.templates)),
    el('td', { class: 'muted small' }, fmtTime(p.updated)));
}

async function load(more) {
  const form = new FormData($('#search'));
  const q = new URLSearchParams();
  for (const k of ['search', 'facility', 'status']) if (form.get(k)) q.set(k, form.get(k));
  q.set('limit', '100');
  if (more && next) q.set('cursor', next);
  try {
    const res = await api('GET', '/api/v1/gallery/persons?' + q);
    const body = $('#persons tbody');
    const rows = res.items.map(row);
    if (more) body.append(...rows); else body.replaceChildren(...rows);
    next = res.next;
    $('#more').hidden = !next;
    $('#persons-empty').hidden = body.children.length > 0;
  } catch (e) {
    showError(e);
  }
}

$('#search').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const q = new URLSearchParams(new FormData(ev.target));
  for (const [k, v] of [...q]) if (!v) q.delete(k);
  history.replaceState(null, '', '/gallery' + (q.size ? '?' + q : ''));
  load(false);
});
$('#more').addEventListener('click', () => load(true));

for (const [k, v] of new URLSearchParams(location.search)) {
  const input = $('#search [name="' + k + '"]');
  if (input) input.value = v;
}
fillSites($('#sites-list'));
load(false);
