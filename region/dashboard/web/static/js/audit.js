// The region's audit log, newest first, and a check of its hash chain.
import { api, t, el, $, fmtTime, showError } from './common.js';

let next = '';

async function verify() {
  const box = $('#chain');
  box.className = 'chain-status';
  box.textContent = t('audit.checking');
  try {
    const v = await api('GET', '/api/v1/audit/verify');
    box.classList.add(v.ok ? 'good' : 'bad');
    box.textContent = v.ok ? t('audit.good', { n: v.head }) : t('audit.bad', { error: v.error });
  } catch (e) {
    showError(e);
  }
}

async function load(more) {
  const q = new URLSearchParams();
  for (const [k, v] of new FormData($('#audit-form'))) if (v) q.set(k, v);
  q.set('limit', '100');
  if (more && next) q.set('before', next);
  try {
    const res = await api('GET', '/api/v1/audit?' + q);
    const rows = res.items.map((a) => el('tr', { dataset: { seq: a.seq, action: a.action } },
      el('td', { class: 'muted' }, String(a.seq)),
      el('td', { class: 'small' }, fmtTime(a.at)),
      el('td', {}, a.actor),
      el('td', { class: 'mono' }, a.action),
      el('td', { class: 'mono' }, a.object),
      el('td', { class: 'detail-cell', title: a.detail }, a.detail)));
    const body = $('#audit tbody');
    if (more) body.append(...rows); else body.replaceChildren(...rows);
    next = res.next;
    $('#more').hidden = !next;
  } catch (e) {
    showError(e);
  }
}

$('#audit-form').addEventListener('submit', (ev) => { ev.preventDefault(); load(false); });
$('#more').addEventListener('click', () => load(true));
$('#verify').addEventListener('click', verify);
verify();
load(false);
