// The transfer desk: start a transfer, follow each one through its
// states (the list is fetched again every few seconds while the page is
// shown), cancel one with a reason until the destination confirms.
import { api, t, el, $, $$, fmtTime, flash, showError } from './common.js';
import { stepper, fillSites, personHref } from './gallery-common.js';

const refreshEvery = 3000;
let filter = 'open';
let cancelling = null;

function item(tr) {
  return el('li', { class: 'transfer state-' + tr.state, dataset: { transfer: tr.id, person: tr.person, state: tr.state } },
    el('div', { class: 'transfer-head' },
      el('a', { class: 'transfer-person', href: personHref(tr.person) }, tr.person),
      el('span', { class: 'transfer-route' }, tr.from + ' → ' + tr.to),
      el('span', { class: 'muted small' }, t('transfers.rev', { from: tr.from_revision || '—', to: tr.to_revision || '—' })),
      el('span', { class: 'spacer' }),
      tr.open ? el('button', { type: 'button', class: 'danger cancel', onclick: () => askCancel(tr) }, t('transfers.cancel')) : ''),
    stepper(tr),
    el('div', { class: 'small muted' }, t('transfers.reason') + ': ', el('span', { class: 'reason' }, tr.reason),
      ' · ' + t('transfers.by') + ': ' + tr.requested_by,
      tr.cancel_reason ? el('div', { class: 'cancel-reason' }, t('transfers.cancelled_by', { who: tr.cancelled_by, reason: tr.cancel_reason })) : ''));
}

async function load() {
  try {
    const list = await api('GET', '/api/v1/transfers?limit=50' + (filter === 'open' ? '&open=true' : ''));
    $('#transfers').replaceChildren(...list.map(item));
    $('#transfers-empty').hidden = list.length > 0;
    $('#refreshed').textContent = t('transfers.refreshed', { time: fmtTime(new Date().toISOString()) });
  } catch (e) {
    showError(e);
  }
}

function askCancel(tr) {
  cancelling = tr;
  const dlg = $('#cancel-dialog');
  $('#cancel-text').textContent = t('transfers.cancel_text', tr);
  dlg.querySelector('textarea').value = '';
  dlg.showModal();
}

$('#cancel-dialog').addEventListener('close', async () => {
  const dlg = $('#cancel-dialog');
  const tr = cancelling;
  cancelling = null;
  if (dlg.returnValue !== 'ok' || !tr) return;
  try {
    await api('POST', '/api/v1/transfers/' + tr.id + '/cancel', { reason: dlg.querySelector('textarea').value.trim() });
    flash(t('transfers.cancelled', tr));
  } catch (e) {
    showError(e);
  }
  load();
});

$('#transfer-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const form = ev.target;
  const body = { person: form.person.value.trim(), to: form.to.value.trim(), reason: form.reason.value.trim() };
  try {
    await api('POST', '/api/v1/transfers', body);
    flash(t('transfers.started', body));
    form.reset();
  } catch (e) {
    showError(e);
  }
  load();
});

for (const b of $$('button[data-filter]')) {
  b.addEventListener('click', () => {
    filter = b.dataset.filter;
    for (const o of $$('button[data-filter]')) o.classList.toggle('active', o === b);
    load();
  });
}

// persons offers the held persons for the person field as one types.
let searchTimer = 0;
$('#transfer-form').person.addEventListener('input', (ev) => {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(async () => {
    try {
      const res = await api('GET', '/api/v1/gallery/persons?limit=20&status=active&search=' + encodeURIComponent(ev.target.value.trim()));
      $('#persons-list').replaceChildren(...res.items.map((p) => el('option', { value: p.id }, p.display_name + ' · ' + p.facility)));
    } catch { /* the list only helps typing */ }
  }, 250);
});

const person = new URLSearchParams(location.search).get('person');
if (person) $('#transfer-form').person.value = person;
fillSites($('#sites-list'));
load();
setInterval(() => { if (!document.hidden && !cancelling) load(); }, refreshEvery);
