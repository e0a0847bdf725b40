import { api, t, el, $, fmtTime, showError, localToRFC3339 } from './common.js';
import { Verifier } from './chain.js';
import { hasWebCrypto } from './sha256.js';

const form = $('#audit-filter');
const body = $('#audit-table tbody');
const more = $('#more');
const status = $('#chain-status');
const PAGE = 200;
let after = 0;

const field = (name) => form.elements.namedItem(name).value.trim();

function query() {
  const q = new URLSearchParams();
  for (const k of ['actor', 'action', 'object']) if (field(k)) q.set(k, field(k));
  const from = localToRFC3339(field('from'));
  const to = localToRFC3339(field('to'));
  if (from) q.set('from', from);
  if (to) q.set('to', to);
  q.set('after', String(after));
  q.set('limit', String(PAGE));
  return '/api/v1/audit?' + q;
}

function row(e) {
  return el('tr', { dataset: { seq: String(e.seq) } },
    el('td', { text: String(e.seq) }),
    el('td', { text: fmtTime(e.at) }),
    el('td', { text: e.actor }),
    el('td', { text: e.action }),
    el('td', { text: e.object }),
    el('td', { class: 'detail-cell', text: e.detail, title: e.detail }),
    el('td', { class: 'mono', text: (e.hash || '').slice(0, 12), title: e.hash }));
}

async function load(append) {
  if (!append) {
    after = 0;
    body.replaceChildren();
  }
  try {
    const data = await api('GET', query());
    const entries = (data && data.entries) || [];
    body.append(...entries.map(row));
    if (entries.length) after = entries[entries.length - 1].seq;
    // A short page may be the server's cap, not the end: only an empty
    // one hides the button.
    more.hidden = entries.length === 0;
    $('#audit-empty').hidden = body.children.length > 0;
  } catch (e) {
    showError(e);
  }
}

async function checkChain() {
  const button = $('#check-chain');
  button.disabled = true;
  status.className = 'chain-status';
  status.removeAttribute('data-ok');
  status.removeAttribute('data-broken-at');
  status.textContent = t('audit.checking');
  const v = new Verifier();
  try {
    let cursor = 0;
    for (;;) {
      const data = await api('GET', '/api/v1/audit?after=' + cursor + '&limit=500');
      const entries = (data && data.entries) || [];
      // The server may cap the page below the limit asked for: only an
      // empty page ends the log.
      if (!entries.length || !(await v.add(entries))) break;
      status.textContent = t('audit.checking_n', { n: v.count });
      cursor = entries[entries.length - 1].seq;
    }
  } catch (e) {
    status.textContent = t('audit.check_failed', { error: e.message });
    status.dataset.ok = 'false';
    button.disabled = false;
    return;
  }
  const how = hasWebCrypto() ? 'WebCrypto' : 'JS SHA-256';
  if (v.broken) {
    const b = v.broken;
    const why = { hash: t('audit.broken_hash'), link: t('audit.broken_link'), gap: t('audit.broken_gap') }[b.why];
    status.textContent = t('audit.broken', { seq: b.seq, why, n: v.count });
    status.dataset.ok = 'false';
    status.dataset.brokenAt = String(b.seq);
    status.classList.add('bad');
    const r = body.querySelector('tr[data-seq="' + b.seq + '"]');
    if (r) r.classList.add('broken');
  } else {
    status.textContent = t('audit.intact', { n: v.count, head: v.prev }) + ' (' + how + ')';
    status.dataset.ok = 'true';
    status.classList.add('good');
  }
  button.disabled = false;
}

form.addEventListener('submit', (ev) => { ev.preventDefault(); load(false); });
more.addEventListener('click', () => load(true));
$('#check-chain').addEventListener('click', checkChain);
load(false);
