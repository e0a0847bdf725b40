// Each facility's gallery: the revision issued, the one it runs, its
// last acknowledgement; fetched again every few seconds.
import { api, t, el, $, fmtTime, showError } from './common.js';

function row(g) {
  const ack = g.last_ack_status
    ? [el('span', { class: 'ack ack-' + g.last_ack_status }, t('ack.' + g.last_ack_status)), ' ', el('span', { class: 'muted small' }, fmtTime(g.last_ack_at)),
      g.last_ack_reason ? el('div', { class: 'small bad' }, g.last_ack_reason) : '']
    : ['—'];
  return el('tr', { dataset: { site: g.site, inStep: String(g.in_step) } },
    el('td', {}, el('a', { href: '/gallery?facility=' + encodeURIComponent(g.site) }, g.site)),
    el('td', {}, String(g.issued)),
    el('td', {}, String(g.in_force)),
    el('td', {}, g.in_step ? el('span', { class: 'ok' }, '✓ ' + t('revisions.in_step')) : el('span', { class: 'warn' }, t('revisions.behind', { n: g.behind }))),
    el('td', {}, ...ack),
    el('td', { class: 'small' }, g.last_sent ? '#' + g.last_sent + ' · ' + fmtTime(g.last_sent_at) : '—',
      g.sends ? el('div', { class: 'muted' }, t('revisions.sends', { n: g.sends })) : ''),
    el('td', {}, String(g.members)),
    el('td', {}, g.pending ? el('a', { href: '/transfers' }, String(g.pending)) : '0'));
}

async function load() {
  try {
    const list = await api('GET', '/api/v1/gallery/sites');
    $('#galleries tbody').replaceChildren(...list.map(row));
    $('#galleries-empty').hidden = list.length > 0;
    $('#refreshed').textContent = t('transfers.refreshed', { time: fmtTime(new Date().toISOString()) });
  } catch (e) {
    showError(e);
  }
}

load();
setInterval(() => { if (!document.hidden) load(); }, 5000);
