// Helpers of the gallery pages: the transfer stepper, labels of states,
// and the datalists of facilities and persons.
import { api, t, el, fmtTime } from './common.js';

// steps are a transfer's states in order, with the field holding the
// time each was reached.
const steps = [
  ['requested', 'requested_at'],
  ['removed_at_source', 'removed_at'],
  ['in_transit', 'transit_at'],
  ['active_at_destination', 'active_at'],
];

// stepper draws requested -> removed at source -> in transit -> active at
// destination, each step done, current or to come, with its time; a
// cancelled transfer ends with a cancelled step.
export function stepper(tr) {
  const reached = steps.map(([, at]) => Boolean(tr[at]));
  const last = reached.lastIndexOf(true);
  const items = steps.map(([state, at], i) => {
    let cls = 'step';
    // A step passed without its time is the source's confirmation that
    // has not come (the region went on after waiting for it).
    const skipped = !reached[i] && i < last;
    if (reached[i]) cls += ' done';
    if (skipped) cls += ' skipped';
    if (tr.state === state) cls += ' current';
    return el('li', { class: cls, dataset: { step: state } },
      el('span', { class: 'step-name' }, t('state.' + state)),
      el('span', { class: 'step-time' }, tr[at] ? fmtTime(tr[at]) : skipped ? t('transfers.unconfirmed') : '—'));
  });
  if (tr.state === 'cancelled') {
    items.push(el('li', { class: 'step cancelled current', dataset: { step: 'cancelled' } },
      el('span', { class: 'step-name' }, t('state.cancelled')),
      el('span', { class: 'step-time' }, fmtTime(tr.cancelled_at))));
  }
  return el('ol', { class: 'stepper' }, items);
}

// statusBadge is a person's status as a coloured pill.
export function statusBadge(status) {
  return el('span', { class: 'state status-' + status }, t('status.' + status));
}

// fillSites puts every facility the region knows in the datalist.
export async function fillSites(list) {
  const ids = new Set();
  try {
    for (const s of await api('GET', '/api/v1/sites')) ids.add(s.id);
  } catch { /* the list only helps typing */ }
  try {
    for (const s of await api('GET', '/api/v1/gallery/sites')) ids.add(s.site);
  } catch { /* idem */ }
  list.replaceChildren(...[...ids].sort().map((id) => el('option', { value: id })));
}

export const personHref = (id) => '/gallery/person?id=' + encodeURIComponent(id);
