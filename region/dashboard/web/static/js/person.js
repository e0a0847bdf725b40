// One person of the master gallery: profile, photos (each view an
// audited read), template metadata, transfers; edit and remove.
import { api, t, el, $, fmtTime, fmtNum, flash, showError } from './common.js';
import { statusBadge, stepper } from './gallery-common.js';

const id = new URLSearchParams(location.search).get('id') || '';
const path = '/api/v1/gallery/persons/' + encodeURIComponent(id);
let person = null;

function facts(p) {
  const dl = $('#person-facts');
  const pair = (k, v) => [el('dt', {}, t(k)), el('dd', {}, v)];
  dl.replaceChildren(
    ...pair('gallery.id', el('span', { class: 'mono' }, p.id)),
    ...pair('gallery.facility', p.facility || '—'),
    ...pair('person.categories', p.categories.join(', ') || '—'),
    ...pair('person.watch_lists', p.watch_lists.join(', ') || '—'),
    ...pair('gallery.photos', String(p.photos) + ' / ' + t('gallery.templates').toLowerCase() + ' ' + p.templates),
    ...pair('person.created', fmtTime(p.created)),
    ...pair('gallery.updated', fmtTime(p.updated)));
}

function render(d) {
  person = d.person;
  const p = d.person;
  $('#person').hidden = false;
  $('#person-title').textContent = p.display_name;
  $('#person-status').replaceWith(Object.assign(statusBadge(p.status), { id: 'person-status' }));
  facts(p);
  const f = $('#person-form');
  f.display_name.value = p.display_name;
  f.categories.value = p.categories.join(', ');
  f.watch_lists.value = p.watch_lists.join(', ');
  f.status.value = p.status === 'released' ? 'released' : 'active';
  f.status.disabled = p.status === 'in_transit';
  $('#person-transfer').href = '/transfers?person=' + encodeURIComponent(p.id);
  $('#person-enrol').href = '/enrol?id=' + encodeURIComponent(p.id);

  const photos = d.photos.map((ph) => el('figure', { dataset: { sha: ph.sha256 } },
    el('img', { src: path + '/photos/' + ph.sha256, alt: p.id, loading: 'lazy' }),
    el('figcaption', { class: 'small muted' }, ph.sha256.slice(0, 12), el('br'), fmtTime(ph.added_at),
      el('br'), t('person.added_by', { who: ph.added_by || '—' }))));
  $('#photos').replaceChildren(...(photos.length ? photos : [el('p', { class: 'muted' }, t('person.no_photos'))]));

  $('#templates tbody').replaceChildren(...d.templates.map((tp) => el('tr', {},
    el('td', { class: 'mono' }, tp.model),
    el('td', {}, String(tp.dim)),
    el('td', {}, fmtNum(tp.quality)),
    el('td', { class: 'mono' }, tp.photo_sha256.slice(0, 12)),
    el('td', {}, tp.source || '—'),
    el('td', { class: 'muted small' }, fmtTime(tp.added_at)))));

  $('#person-transfers tbody').replaceChildren(...d.transfers.map((tr) => el('tr', { dataset: { transfer: tr.id } },
    el('td', { class: 'small' }, fmtTime(tr.requested_at)),
    el('td', {}, tr.from + ' → ' + tr.to),
    el('td', {}, stepper(tr)),
    el('td', { class: 'small' }, t('transfers.rev', { from: tr.from_revision || '—', to: tr.to_revision || '—' })),
    el('td', {}, tr.reason, tr.cancel_reason ? el('div', { class: 'muted small' }, t('transfers.cancelled_by', { who: tr.cancelled_by, reason: tr.cancel_reason })) : ''),
    el('td', {}, tr.requested_by))));
  $('#person-transfers-empty').hidden = d.transfers.length > 0;
}

async function load() {
  try {
    render(await api('GET', path));
  } catch (e) {
    if (e.status === 404 || e.status === 400) { $('#person-missing').hidden = false; return; }
    showError(e);
  }
}

const labels = (v) => v.split(',').map((s) => s.trim()).filter(Boolean);

$('#person-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const f = ev.target;
  const body = { display_name: f.display_name.value.trim(), categories: labels(f.categories.value), watch_lists: labels(f.watch_lists.value) };
  if (!f.status.disabled) body.status = f.status.value;
  try {
    await api('PUT', path, body);
    flash(t('person.saved', { id }));
  } catch (e) {
    showError(e);
  }
  load();
});

$('#person-remove').addEventListener('click', () => {
  const dlg = $('#remove-dialog');
  $('#remove-text').textContent = t('person.remove_text', { id, name: person ? person.display_name : '', facility: (person && person.facility) || '—' });
  dlg.querySelector('input').value = '';
  dlg.showModal();
});
$('#remove-dialog').addEventListener('close', async () => {
  const dlg = $('#remove-dialog');
  if (dlg.returnValue !== 'ok') return;
  if (dlg.querySelector('input').value.trim() !== id) { flash(t('person.remove_type'), 'error'); return; }
  try {
    await api('DELETE', path);
    flash(t('person.removed', { id }));
    location.assign('/gallery');
  } catch (e) {
    showError(e);
  }
});

load();
