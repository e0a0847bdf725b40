// Rules, zones, watch lists, permits and keep-apart orders.
import { api, t, el, $, showError, flash, ApiError } from './common.js';
import { pathFor } from './nav.js';

const KINDS = ['watch_list', 'outside_permit', 'keep_apart', 'unknown_in_staff_zone'];
const KIND = {
  watch_list: () => t('kind.watch_list'),
  outside_permit: () => t('kind.outside_permit'),
  keep_apart: () => t('kind.keep_apart'),
  unknown_in_staff_zone: () => t('kind.unknown_in_staff_zone'),
};
const SEVERITIES = ['info', 'warning', 'critical'];
const SEVERITY = {
  info: () => t('severity.low'),
  warning: () => t('severity.medium'),
  critical: () => t('severity.critical'),
};
const ZONE_KINDS = ['general', 'housing', 'yard', 'staff_only', 'visiting', 'medical', 'entrance', 'perimeter'];
let zones = [];

const options = (values, labels, current) => values.map((v) => el('option', { value: v, text: labels && labels[v] ? labels[v]() : v, selected: v === current }));

// fieldError shows a server's validation message next to the field it
// names (falling back to the card's own message line).
function fieldError(card, err) {
  for (const e of card.querySelectorAll('.field-error')) e.textContent = '';
  const name = err instanceof ApiError && err.field ? err.field.split(/[.\s]/)[0] : '';
  const slot = card.querySelector('.field-error[data-for="' + name + '"]') || card.querySelector('.field-error[data-for=""]');
  slot.textContent = err.message;
}

function ruleCard(r, isNew) {
  const id = el('input', { name: 'id', value: r.id || '', required: true, readOnly: !isNew });
  const name = el('input', { name: 'name', value: r.name || '' });
  const kind = el('select', { name: 'kind' }, options(KINDS, KIND, r.kind));
  const sev = el('select', { name: 'severity' }, options(SEVERITIES, SEVERITY, r.severity));
  const enabled = el('input', { type: 'checkbox', name: 'enabled', checked: r.enabled !== false });
  const cooldown = el('input', { type: 'number', name: 'cooldown', min: '0', max: '86400', value: String(r.cooldown ?? 0) });
  const params = el('textarea', { name: 'params', rows: 3, class: 'mono', spellcheck: false });
  params.value = JSON.stringify(r.params || {}, null, 1);
  const err = (f) => el('span', { class: 'field-error error', dataset: { for: f } });
  const card = el('form', { class: 'rule card-inner', dataset: { id: r.id || '' } },
    el('div', { class: 'row' },
      el('label', {}, t('common.id'), id), el('label', {}, t('common.name'), name, err('name')),
      el('label', {}, t('rules.kind'), kind, err('kind')), el('label', {}, t('rules.severity'), sev, err('severity')),
      el('label', {}, t('rules.cooldown'), cooldown, err('cooldown')),
      el('label', { class: 'check' }, enabled, t('rules.enabled'))),
    el('label', { class: 'stack' }, t('rules.params'), params, err('params')),
    el('div', { class: 'row' },
      el('button', { type: 'submit', class: 'primary', text: t('common.save') }),
      el('button', { type: 'button', class: 'danger', text: t('common.delete'), hidden: isNew, onclick: () => remove(r.id, card) }),
      err('')));
  params.addEventListener('input', () => {
    try { JSON.parse(params.value); card.querySelector('.field-error[data-for="params"]').textContent = ''; } catch (e) {
      card.querySelector('.field-error[data-for="params"]').textContent = t('rules.bad_json', { error: e.message });
    }
  });
  card.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    let p;
    try { p = JSON.parse(params.value || '{}'); } catch (e) {
      fieldError(card, new ApiError(400, t('rules.bad_json', { error: e.message }), 'params'));
      return;
    }
    const body = { id: id.value.trim(), kind: kind.value, name: name.value.trim(), params: p, severity: sev.value, cooldown: Number(cooldown.value) || 0, enabled: enabled.checked };
    try {
      await api('PUT', '/api/v1/rules/' + encodeURIComponent(body.id), body);
      flash(t('common.saved'));
      loadRules();
    } catch (e) {
      fieldError(card, e);
    }
  });
  return card;
}

async function remove(id, card) {
  if (!window.confirm(t('rules.delete_confirm', { id }))) return;
  try {
    await api('DELETE', '/api/v1/rules/' + encodeURIComponent(id));
    card.remove();
  } catch (e) {
    showError(e);
  }
}

async function loadRules() {
  try {
    const rules = ((await api('GET', '/api/v1/rules')) || {}).rules || [];
    $('#rule-list').replaceChildren(...rules.map((r) => ruleCard(r, false)));
  } catch (e) {
    showError(e);
  }
}

async function loadZones() {
  try {
    zones = ((await api('GET', '/api/v1/zones')) || {}).zones || [];
  } catch (e) {
    showError(e);
    return;
  }
  $('#zone-table tbody').replaceChildren(...zones.map((z) => {
    const name = el('input', { value: z.name || '' });
    const kind = el('select', {}, options(ZONE_KINDS, null, z.kind));
    const save = el('button', { type: 'button', text: t('common.save'), onclick: async () => {
      try {
        await api('PUT', '/api/v1/zones/' + encodeURIComponent(z.id), { id: z.id, name: name.value.trim(), kind: kind.value });
        flash(t('common.saved'));
      } catch (e) { showError(e); }
    } });
    return el('tr', { dataset: { id: z.id } }, el('td', { text: z.id }), el('td', {}, name), el('td', {}, kind), el('td', {}, save));
  }));
  $('#permit-add select').replaceChildren(...zones.map((z) => el('option', { value: z.id, text: z.name || z.id })));
}

// Permits of one person.
let permitPerson = '';
async function loadPermits() {
  const ul = $('#permit-list');
  try {
    const permits = ((await api('GET', '/api/v1/persons/' + encodeURIComponent(permitPerson) + '/permits')) || {}).permits || [];
    ul.replaceChildren(...permits.map((p) => el('li', {}, (p.zone_id || p.zone) + ': ' + p.window + ' ',
      el('button', { type: 'button', class: 'ghost', text: t('common.delete'), onclick: async () => {
        try { await api('DELETE', '/api/v1/permits/' + encodeURIComponent(p.id)); loadPermits(); } catch (e) { showError(e); }
      } }))));
    if (!permits.length) ul.append(el('li', { class: 'muted', text: t('common.nothing') }));
    $('#permit-add').hidden = false;
  } catch (e) {
    $('#permit-error').textContent = e.message;
  }
}
$('#permit-person').addEventListener('submit', (ev) => {
  ev.preventDefault();
  $('#permit-error').textContent = '';
  permitPerson = ev.target.elements.namedItem('person').value.trim();
  loadPermits();
});
$('#permit-add').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const f = ev.target.elements;
  $('#permit-error').textContent = '';
  try {
    await api('POST', '/api/v1/persons/' + encodeURIComponent(permitPerson) + '/permits',
      { person_id: permitPerson, zone_id: f.namedItem('zone').value, window: f.namedItem('window').value.trim() });
    f.namedItem('window').value = '';
    loadPermits();
  } catch (e) {
    $('#permit-error').textContent = e.message;
  }
});

// Keep-apart orders.
async function loadKeep() {
  try {
    const orders = ((await api('GET', '/api/v1/keep-apart')) || {}).orders || [];
    $('#keep-list').replaceChildren(...orders.map((o) => el('li', {},
      el('a', { href: pathFor('person', o.a), text: o.a }), ' ↔ ', el('a', { href: pathFor('person', o.b), text: o.b }),
      ' — ', o.reason || '', ' ',
      el('button', { type: 'button', class: 'ghost', text: t('common.delete'), onclick: async () => {
        try {
          await api('DELETE', '/api/v1/keep-apart?a=' + encodeURIComponent(o.a) + '&b=' + encodeURIComponent(o.b));
          loadKeep();
        } catch (e) { showError(e); }
      } }))));
    if (!orders.length) $('#keep-list').append(el('li', { class: 'muted', text: t('common.nothing') }));
  } catch (e) {
    showError(e);
  }
}
$('#keep-add').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const f = ev.target.elements;
  $('#keep-error').textContent = '';
  try {
    await api('PUT', '/api/v1/keep-apart', { a: f.namedItem('a').value.trim(), b: f.namedItem('b').value.trim(), reason: f.namedItem('reason').value.trim() });
    ev.target.reset();
    loadKeep();
  } catch (e) {
    $('#keep-error').textContent = e.message;
  }
});

// Watch lists are a field of persons: show who is on one.
$('#watch-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const wl = ev.target.elements.namedItem('watch_list').value.trim();
  if (!wl) return;
  try {
    const persons = ((await api('GET', '/api/v1/persons?watch_list=' + encodeURIComponent(wl))) || {}).persons || [];
    $('#watch-members').replaceChildren(...persons.map((p) => el('li', {}, el('a', { href: pathFor('person', p.id), text: p.name + ' (' + p.id + ')' }))));
    if (!persons.length) $('#watch-members').append(el('li', { class: 'muted', text: t('common.nothing') }));
  } catch (e) {
    showError(e);
  }
});

$('#rule-new').addEventListener('click', () => {
  $('#rule-list').prepend(ruleCard({ kind: 'watch_list', severity: 'warning', enabled: true, params: {} }, true));
});

loadRules();
loadZones();
loadKeep();
