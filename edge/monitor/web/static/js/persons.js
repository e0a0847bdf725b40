import { api, t, el, $, showError, pathFor } from './common.js';

const form = $('#person-search');
const body = $('#person-table tbody');

const STATUS = {
  active: () => t('status.active'),
  in_transit: () => t('status.in_transit'),
  released: () => t('status.released'),
};

async function search() {
  const q = new URLSearchParams();
  if (form.q.value.trim()) q.set('q', form.q.value.trim());
  if (form.watch_list.value.trim()) q.set('watch_list', form.watch_list.value.trim());
  try {
    const data = await api('GET', '/api/v1/persons' + (q.toString() ? '?' + q : ''));
    const items = (data && data.persons) || [];
    body.replaceChildren(...items.map((p) => el('tr', { dataset: { id: p.id } },
      el('td', {}, el('a', { href: pathFor('person', p.id), text: p.id })),
      el('td', {}, el('a', { href: pathFor('person', p.id), text: p.name })),
      el('td', { text: STATUS[p.status] ? STATUS[p.status]() : p.status }),
      el('td', { text: (p.watch_lists || []).join(', ') }),
      el('td', { text: (p.categories || []).join(', ') }))));
    $('#persons-empty').hidden = items.length > 0;
  } catch (e) {
    showError(e);
  }
}

if (form) {
  form.addEventListener('submit', (ev) => { ev.preventDefault(); search(); });
  search();
}
