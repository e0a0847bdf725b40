// The alert desk: the open alerts, live from the events stream, with the
// evidence of the selected one and the acknowledge / decide buttons.
import { api, t, el, $, $$, fmtTime, fmtNum, showError, flash, pathFor } from './common.js';
import { cropURL } from './sightings-view.js';

const list = $('#alert-list');
const detail = $('#alert-detail');
const baseTitle = document.title;
let tab = 'open';
let alerts = []; // newest first
let selected = '';

const SEVERITY = {
  low: () => t('severity.low'),
  info: () => t('severity.low'),
  medium: () => t('severity.medium'),
  warning: () => t('severity.medium'),
  high: () => t('severity.high'),
  critical: () => t('severity.critical'),
};
const KIND = {
  watch_list: () => t('kind.watch_list'),
  outside_permit: () => t('kind.outside_permit'),
  keep_apart: () => t('kind.keep_apart'),
  unknown_in_staff_zone: () => t('kind.unknown_in_staff_zone'),
};
const STATE = {
  open: () => t('alert.state_open'),
  confirmed: () => t('alert.state_confirmed'),
  rejected: () => t('alert.state_rejected'),
};
const label = (table, v) => (table[v] ? table[v]() : v || '');
// sevClass maps the rules' severities onto the four colours.
const sevClass = (s) => ({ info: 'low', warning: 'medium' }[s] || s || 'low');

// Sound: a short beep through WebAudio. Browsers only start audio after
// a user gesture, so the context is made on the first click.
let audio = null;
let muted = localStorage.getItem('dozor.mute') === '1';
function unlockAudio() {
  if (!audio && (window.AudioContext || window.webkitAudioContext)) {
    audio = new (window.AudioContext || window.webkitAudioContext)();
  }
  if (audio && audio.state === 'suspended') audio.resume().catch(() => {});
  $('#audio-hint').hidden = true;
}
document.addEventListener('pointerdown', unlockAudio, { once: true });
document.addEventListener('keydown', unlockAudio, { once: true });

function beep(severity) {
  if (muted || !audio || audio.state !== 'running') return;
  const pitch = { critical: 1320, high: 1100, medium: 880 }[sevClass(severity)] || 660;
  const now = audio.currentTime;
  const repeats = sevClass(severity) === 'critical' ? 3 : 1;
  for (let i = 0; i < repeats; i++) {
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    osc.frequency.value = pitch;
    osc.type = 'square';
    gain.gain.setValueAtTime(0.0001, now + i * 0.3);
    gain.gain.exponentialRampToValueAtTime(0.15, now + i * 0.3 + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, now + i * 0.3 + 0.22);
    osc.connect(gain).connect(audio.destination);
    osc.start(now + i * 0.3);
    osc.stop(now + i * 0.3 + 0.25);
  }
}

function updateMute() {
  const b = $('#mute');
  b.textContent = muted ? t('alerts.sound_off') : t('alerts.sound_on');
  b.setAttribute('aria-pressed', String(muted));
  b.classList.toggle('active', muted);
}
$('#mute').addEventListener('click', () => {
  muted = !muted;
  localStorage.setItem('dozor.mute', muted ? '1' : '0');
  updateMute();
});
updateMute();

function openCount() {
  return alerts.filter((a) => a.state === 'open').length;
}

function renderList() {
  const shown = tab === 'open' ? alerts.filter((a) => a.state === 'open') : alerts;
  list.replaceChildren(...shown.map((a) => {
    const s = a.sighting || {};
    return el('li', {
      class: 'alert-item sev-' + sevClass(a.severity) + (a.id === selected ? ' selected' : '') + (a.acknowledged_by ? ' acked' : ''),
      dataset: { id: a.id, severity: sevClass(a.severity), state: a.state },
      tabIndex: 0,
      onclick: () => select(a.id),
      onkeydown: (ev) => { if (ev.key === 'Enter') select(a.id); },
    },
    el('span', { class: 'sev', text: label(SEVERITY, a.severity) }),
    el('div', { class: 'alert-main' },
      el('div', { class: 'alert-title' }, a.rule_name || label(KIND, a.kind)),
      el('div', { class: 'muted small' }, s.name || s.person || t('live.unknown'), ' · ', s.camera || '', ' · ', fmtTime(a.created_at))),
    el('span', { class: 'alert-state', text: a.state === 'open' ? (a.acknowledged_by ? t('alert.acked_short') : '') : label(STATE, a.state) }));
  }));
  $('#alerts-empty').hidden = shown.length > 0;
  const n = openCount();
  $('#open-count').textContent = String(n);
  document.title = (n ? '(' + n + ') ' : '') + baseTitle;
}

async function load() {
  try {
    const data = await api('GET', '/api/v1/alerts?state=' + (tab === 'open' ? 'open' : 'all') + '&limit=100');
    alerts = (data && data.alerts) || [];
    sortAlerts();
    renderList();
    if (selected) {
      const a = alerts.find((x) => x.id === selected);
      if (a) renderDetail(a);
    }
  } catch (e) {
    showError(e);
  }
}

function sortAlerts() {
  alerts.sort((a, b) => (a.created_at < b.created_at ? 1 : a.created_at > b.created_at ? -1 : 0));
}

function upsert(a) {
  const i = alerts.findIndex((x) => x.id === a.id);
  if (i >= 0) alerts[i] = a;
  else alerts.push(a);
  // The open tab keeps decided alerts out.
  if (tab === 'open') alerts = alerts.filter((x) => x.state === 'open');
  sortAlerts();
  renderList();
  if (a.id === selected) renderDetail(a);
}

function select(id) {
  selected = id;
  renderList();
  const a = alerts.find((x) => x.id === id);
  if (a) renderDetail(a);
}

function fact(name, value) {
  return [el('dt', { text: name }), el('dd', {}, value === undefined || value === null || value === '' ? '—' : value)];
}

function evidenceFacts(ev) {
  if (!ev || typeof ev !== 'object') return [];
  return Object.entries(ev).flatMap(([k, v]) => fact(k, typeof v === 'object' ? JSON.stringify(v) : String(v)));
}

function renderDetail(a) {
  const s = a.sighting || {};
  const photos = (a.photos || []).map((p) => el('figure', {},
    el('img', { src: '/api/v1/persons/' + encodeURIComponent(s.person || '') + '/photos/' + encodeURIComponent(p), alt: t('alert.enrolled_photo') }),
    el('figcaption', { text: t('alert.enrolled_photo') })));
  const live = s.has_crop !== false && s.id
    ? el('figure', {}, el('img', { src: cropURL(s), alt: t('alert.live_crop') }), el('figcaption', { text: t('alert.live_crop') }))
    : el('figure', {}, el('div', { class: 'noimg', text: t('alert.no_crop') }), el('figcaption', { text: t('alert.live_crop') }));
  const who = s.person
    ? el('a', { href: pathFor('person', s.person), text: (s.name || s.person) + ' (' + s.person + ')' })
    : t('live.unknown');

  const children = [
    el('header', { class: 'detail-head sev-' + sevClass(a.severity) },
      el('span', { class: 'sev', text: label(SEVERITY, a.severity) }),
      el('h2', { text: a.rule_name || label(KIND, a.kind) }),
      el('span', { class: 'muted', text: label(STATE, a.state) })),
    el('div', { class: 'evidence' }, live, photos.length ? photos : el('figure', {}, el('div', { class: 'noimg', text: t('alert.no_photo') }), el('figcaption', { text: t('alert.enrolled_photo') }))),
    el('dl', { class: 'facts' },
      fact(t('alert.person'), who),
      fact(t('common.score'), fmtNum(s.score, 3)),
      fact(t('common.margin'), fmtNum(s.margin, 3)),
      fact(t('common.frames'), s.frames),
      fact(t('sightings.camera'), s.camera),
      fact(t('sightings.zone'), s.zone),
      fact(t('common.time'), fmtTime(a.created_at)),
      fact(t('alert.rule'), [label(KIND, a.kind), ' · ', a.rule_name || a.rule || '', ' · ', label(SEVERITY, a.severity)]),
      a.acknowledged_by ? fact(t('alert.acknowledged'), a.acknowledged_by + ', ' + fmtTime(a.acknowledged_at)) : null),
    el('details', { class: 'rule-evidence', open: true }, el('summary', { text: t('alert.rule_evidence') }), el('dl', { class: 'facts' }, evidenceFacts(a.evidence))),
  ];
  if (a.decision) {
    const d = a.decision;
    children.push(el('div', { class: 'decision decision-' + d.decision },
      el('strong', { text: label(STATE, d.decision) }), ' — ', t('alert.decided_by', { by: d.by }), ', ', fmtTime(d.at),
      el('p', { text: d.reason })));
  }
  if (a.state === 'open') children.push(actions(a));
  detail.replaceChildren(...children);
}

function actions(a) {
  const acked = !!a.acknowledged_by;
  const msg = el('p', { class: 'error conflict', role: 'alert' });
  const reason = el('textarea', { name: 'reason', rows: 3, maxLength: 500, placeholder: t('alert.reason_placeholder'), disabled: !acked });
  const ack = el('button', { type: 'button', class: 'primary', dataset: { action: 'ack' }, disabled: acked, text: acked ? t('alert.acked_short') : t('alert.ack') });
  const confirm = el('button', { type: 'button', class: 'danger', dataset: { action: 'confirm' }, disabled: true, text: t('alert.confirm') });
  const reject = el('button', { type: 'button', dataset: { action: 'reject' }, disabled: true, text: t('alert.reject') });
  const sync = () => {
    const ok = acked && reason.value.trim().length > 0;
    confirm.disabled = !ok;
    reject.disabled = !ok;
  };
  reason.addEventListener('input', sync);

  const conflict = async (e) => {
    let fresh = null;
    try { fresh = await api('GET', '/api/v1/alerts/' + encodeURIComponent(a.id)); } catch { /* keep the server's message */ }
    let text = e.message;
    if (fresh && fresh.decision) text = t('alert.decided_by', { by: fresh.decision.by });
    else if (fresh && fresh.acknowledged_by) text = t('alert.acked_by', { by: fresh.acknowledged_by });
    if (fresh) upsert(fresh);
    flash(text, 'error');
    const box = detail.querySelector('.conflict');
    if (box) box.textContent = text;
  };
  const post = async (path, body, button) => {
    button.disabled = true;
    msg.textContent = '';
    try {
      const updated = await api('POST', '/api/v1/alerts/' + encodeURIComponent(a.id) + path, body);
      if (updated && updated.id) upsert(updated);
      return true;
    } catch (e) {
      if (e.status === 409) await conflict(e);
      else { msg.textContent = e.message; showError(e); button.disabled = false; }
      return false;
    }
  };
  ack.addEventListener('click', () => post('/ack', {}, ack));
  const decide = (decision, button) => async () => {
    const r = reason.value.trim();
    if (!r) return;
    if (await post('/decision', { decision, reason: r }, button)) flash(decision === 'confirmed' ? t('alert.confirmed_done') : t('alert.rejected_done'));
  };
  confirm.addEventListener('click', decide('confirmed', confirm));
  reject.addEventListener('click', decide('rejected', reject));
  return el('div', { class: 'actions' },
    el('div', { class: 'row' }, ack, acked ? null : el('span', { class: 'muted small', text: t('alert.ack_first') })),
    el('label', { class: 'stack' }, t('alert.reason'), reason),
    el('div', { class: 'row' }, confirm, reject),
    msg);
}

for (const b of $$('[data-tab]')) {
  b.addEventListener('click', () => {
    tab = b.dataset.tab;
    for (const o of $$('[data-tab]')) o.classList.toggle('active', o === b);
    load();
  });
}

function watch() {
  const es = new EventSource('/api/v1/events', { withCredentials: true });
  es.addEventListener('alert', (ev) => {
    let a;
    try { a = JSON.parse(ev.data); } catch { return; }
    const isNew = !alerts.some((x) => x.id === a.id);
    upsert(a);
    if (isNew && a.state === 'open') {
      beep(a.severity);
      const item = list.querySelector('.alert-item[data-id="' + CSS.escape(a.id) + '"]');
      if (item) item.classList.add('fresh');
    }
  });
  es.addEventListener('alert_update', (ev) => {
    try { upsert(JSON.parse(ev.data)); } catch { /* ignore a malformed event */ }
  });
  es.addEventListener('lost', load);
  // After a reconnect the stream may have missed events.
  es.addEventListener('open', () => { if (alerts.length) load(); });
}

load().then(watch);
