import { api, t, el, $, fmtTime, fmtNum, showError, flash, roleIs } from './common.js';
import { pageArg, splitList, pathFor } from './nav.js';
import { sightingItem } from './sightings-view.js';

const id = pageArg('person');
const STATUS = {
  active: () => t('status.active'),
  in_transit: () => t('status.in_transit'),
  released: () => t('status.released'),
};
let person = null;

function fact(name, value) {
  return [el('dt', { text: name }), el('dd', { text: value || '—' })];
}

function render(d) {
  person = d.person;
  const p = d.person;
  $('#person-title').textContent = (p.name || p.id) + ' · ' + p.id;
  $('#person-profile').replaceChildren(
    ...fact(t('persons.id'), p.id),
    ...fact(t('persons.name'), p.name),
    ...fact(t('persons.status'), STATUS[p.status] ? STATUS[p.status]() : p.status),
    ...fact(t('persons.facility'), p.facility),
    ...fact(t('persons.watch_lists'), (p.watch_lists || []).join(', ')),
    ...fact(t('persons.categories'), (p.categories || []).join(', ')),
    ...fact(t('person.updated'), fmtTime(p.updated_at)));
  $('#person-photos').replaceChildren(...(d.photos || []).map((ph) => el('figure', {},
    el('img', { src: '/api/v1/persons/' + encodeURIComponent(p.id) + '/photos/' + encodeURIComponent(ph.id), loading: 'lazy', alt: '' }),
    el('figcaption', { class: 'small muted', text: (ph.source || '') + ' · ' + fmtTime(ph.created_at) }))));
  if (!(d.photos || []).length) $('#person-photos').append(el('p', { class: 'muted', text: t('common.nothing') }));
  $('#template-table tbody').replaceChildren(...(d.templates || []).map((tp) => el('tr', {},
    el('td', { text: tp.model }), el('td', { text: fmtNum(tp.quality) }), el('td', { text: tp.source }),
    el('td', { text: fmtTime(tp.created_at) }), el('td', { text: tp.created_by }))));
  $('#person-permits').replaceChildren(...(d.permits || []).map((pm) => el('li', { text: (pm.zone_id || pm.zone) + ': ' + pm.window })));
  if (!(d.permits || []).length) $('#person-permits').append(el('li', { class: 'muted', text: t('common.nothing') }));
  $('#person-sightings').replaceChildren(...(d.recent_sightings || []).map(sightingItem));
  if (roleIs('supervisor')) {
    const f = $('#person-edit');
    f.hidden = false;
    f.elements.namedItem('name').value = p.name || '';
    f.status.value = p.status || 'active';
    f.watch_lists.value = (p.watch_lists || []).join(', ');
    f.categories.value = (p.categories || []).join(', ');
  }
}

async function load() {
  try {
    render(await api('GET', '/api/v1/persons/' + encodeURIComponent(id)));
  } catch (e) {
    showError(e);
  }
}

const form = $('#person-edit');
form.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  $('#person-error').textContent = '';
  const body = {
    id: person.id, name: form.elements.namedItem('name').value.trim(), facility: person.facility, status: form.status.value,
    watch_lists: splitList(form.watch_lists.value), categories: splitList(form.categories.value),
  };
  try {
    await api('PUT', '/api/v1/persons/' + encodeURIComponent(id), body);
    flash(t('common.saved'));
    load();
  } catch (e) {
    $('#person-error').textContent = e.message;
  }
});

const dialog = $('#delete-dialog');
$('#person-delete').addEventListener('click', () => dialog.showModal());
dialog.addEventListener('close', async () => {
  if (dialog.returnValue !== 'delete') return;
  try {
    const r = await api('DELETE', '/api/v1/persons/' + encodeURIComponent(id));
    flash(t('person.deleted', { templates: r ? r.templates : 0, photos: r ? r.photos : 0, crops: r ? r.crops : 0 }));
    setTimeout(() => location.assign(pathFor('persons')), 1500);
  } catch (e) {
    showError(e);
  }
});

load();
