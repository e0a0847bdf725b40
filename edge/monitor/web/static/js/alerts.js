// The alert desk: the open alerts, live from the events stream, with the
// evidence of the selected one and the acknowledge / decide buttons.
import { api, t, el, $, $$, fmtTime, fmtNum, showError, flash } from './common.js';
import { pathFor } from './nav.js';
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

// Person names known to this desk: the alerts' own sightings, then the
// persons list (fetched once, when evidence names someone else).
const names = new Map();
let namesLoaded = null;
function learnNames() {
  for (const a of alerts) {
    const s = a.sighting || {};
    if (s.person && s.name) names.set(s.person, s.name);
  }
}
function loadNames() {
  namesLoaded ||= api('GET', '/api/v1/persons').then((data) => {
    for (const p of (data && data.persons) || []) if (p.name) names.set(p.id, p.name);
  }).catch(() => { /* ids stay readable */ });
  return namesLoaded;
}

// personText is "name (id)", or just one of them when the name is the id
// or unknown.
function personText(id, name) {
  if (!name || name === id) return id;
  return name + ' (' + id + ')';
}
const personLink = (id) => el('a', { href: pathFor('person', id), text: personText(id, names.get(id)) });

// The daemon stores the rule's evidence with Go field names (Sighting,
// Camera, ...); older or hand-made ones use snake case. pick reads either.
function pick(o, ...keys) {
  for (const k of keys) if (o[k] !== undefined && o[k] !== null) return o[k];
  return undefined;
}

function sightingsURL(ev) {
  const q = new URLSearchParams();
  const camera = pick(ev, 'Camera', 'camera');
  const person = pick(ev, 'PersonID', 'person_id', 'person');
  const at = pick(ev, 'Time', 'time');
  const id = pick(ev, 'Sighting', 'sighting', 'id');
  if (camera) q.set('camera', camera);
  if (person) q.set('person', person);
  if (at) q.set('at', at);
  if (id) q.set('sighting', id);
  return pathFor('sightings') + '?' + q.toString();
}

// sightingLine is one sighting of the evidence: camera · zone · time ·
// score · margin, linked to the sightings page around that moment.
function sightingLine(ev) {
  if (!ev || typeof ev !== 'object') return el('li', { text: String(ev) });
  const person = pick(ev, 'PersonID', 'person_id', 'person');
  const parts = [pick(ev, 'Camera', 'camera'), pick(ev, 'Zone', 'zone'), fmtTime(pick(ev, 'Time', 'time')),
    t('common.score') + ' ' + fmtNum(pick(ev, 'Score', 'score'), 3),
    t('common.margin') + ' ' + fmtNum(pick(ev, 'Margin', 'margin'), 3)].filter(Boolean);
  return el('li', {},
    el('a', { href: sightingsURL(ev), text: parts.join(' · ') }),
    person ? [' — ', personLink(person)] : null);
}

// The evidence's fields in the order they are shown; others follow.
const EVIDENCE = {
  kind: () => t('evidence.kind'),
  reason: () => t('evidence.reason'),
  camera: () => t('evidence.camera'),
  zone: () => t('evidence.zone'),
  watch_list: () => t('evidence.watch_list'),
  persons: () => t('evidence.persons'),
  sightings: () => t('evidence.sightings'),
};
const evidenceName = (k) => (EVIDENCE[k] ? EVIDENCE[k]() : k.replace(/_/g, ' '));
const evidenceOrder = (k) => { const i = Object.keys(EVIDENCE).indexOf(k); return i < 0 ? 99 : i; };

function evidenceValue(k, v) {
  if (k === 'kind') return label(KIND, v);
  if (k === 'persons' && Array.isArray(v)) return v.flatMap((id, i) => (i ? [', ', personLink(String(id))] : [personLink(String(id))]));
  if (k === 'sightings' && Array.isArray(v)) return el('ul', { class: 'evidence-sightings' }, v.map(sightingLine));
  if (Array.isArray(v)) return v.map((x) => (x && typeof x === 'object' ? Object.values(x).join(' · ') : String(x))).join(', ');
  if (v && typeof v === 'object') return Object.entries(v).map(([a, b]) => a.replace(/_/g, ' ') + ': ' + (typeof b === 'object' ? Object.values(b || {}).join(' · ') : b)).join('; ');
  if (typeof v === 'number') return fmtNum(v, 3);
  return String(v);
}

function evidenceFacts(ev) {
  if (!ev || typeof ev !== 'object') return [];
  return Object.entries(ev).filter(([, v]) => v !== '' && v !== null && !(Array.isArray(v) && !v.length))
    .sort(([a], [b]) => evidenceOrder(a) - evidenceOrder(b))
    .flatMap(([k, v]) => fact(evidenceName(k), evidenceValue(k, v)));
}

function figure(img, caption) {
  return el('figure', {}, img, el('figcaption', { text: caption }));
}

function renderDetail(a) {
  learnNames();
  const s = a.sighting || {};
  const ev = a.evidence && typeof a.evidence === 'object' ? a.evidence : {};
  const others = [].concat(ev.persons || [], (ev.sightings || []).map((x) => x && pick(x, 'PersonID', 'person_id')))
    .filter((id) => id && !names.has(id));
  if (others.length && !namesLoaded) loadNames().then(() => { if (selected === a.id) renderDetail(alerts.find((x) => x.id === a.id) || a); });

  const pictures = [s.has_crop !== false && s.id
    ? figure(el('img', { src: cropURL(s), alt: t('alert.live_crop') }), t('alert.live_crop'))
    : figure(el('div', { class: 'noimg', text: t('alert.no_crop') }), t('alert.live_crop'))];
  const photos = (a.photos || []).slice(0, 2).map((p) => figure(
    el('img', { src: '/api/v1/persons/' + encodeURIComponent(s.person || '') + '/photos/' + encodeURIComponent(p), alt: t('alert.enrolled_photo') }),
    t('alert.enrolled_photo')));
  pictures.push(...(photos.length ? photos : [figure(el('div', { class: 'noimg', text: t('alert.no_photo') }), t('alert.enrolled_photo'))]));
  const who = s.person
    ? el('a', { href: pathFor('person', s.person), text: personText(s.person, s.name) })
    : el('span', { class: 'unknown', text: t('live.unknown') });

  const body = [
    el('div', { class: 'evidence-block' },
      el('div', { class: 'evidence' }, pictures),
      el('dl', { class: 'facts' },
        fact(t('alert.person'), who),
        fact(t('common.score'), fmtNum(s.score, 3)),
        fact(t('common.margin'), fmtNum(s.margin, 3)),
        fact(t('common.frames'), s.frames),
        fact(t('sightings.camera'), s.camera),
        fact(t('sightings.zone'), s.zone),
        fact(t('common.time'), fmtTime(a.created_at)),
        fact(t('alert.rule'), [label(KIND, a.kind), ' · ', label(SEVERITY, a.severity)]),
        ev.reason ? fact(t('evidence.reason'), ev.reason) : null,
        a.acknowledged_by ? fact(t('alert.acknowledged'), a.acknowledged_by + ', ' + fmtTime(a.acknowledged_at)) : null)),
    el('details', { class: 'rule-evidence' }, el('summary', { text: t('alert.rule_evidence') }), el('dl', { class: 'facts' }, evidenceFacts(ev))),
  ];
  if (a.decision) {
    const d = a.decision;
    body.push(el('div', { class: 'decision decision-' + d.decision },
      el('strong', { text: label(STATE, d.decision) }), ' — ', t('alert.decided_by', { by: d.by }), ', ', fmtTime(d.at),
      el('p', { text: d.reason })));
  }
  // Keep the evidence section's open state, and the reason being written
  // (its text, focus and caret), across re-renders of the same alert: an
  // update from the event stream must never wipe what a guard is typing.
  const same = detail.dataset.id === a.id;
  const wasOpen = same && !!detail.querySelector('details.rule-evidence[open]');
  const draft = same ? detail.querySelector('textarea[name="reason"]') : null;
  const draftText = draft ? draft.value : '';
  const draftFocus = !!draft && document.activeElement === draft;
  const caret = draft ? [draft.selectionStart, draft.selectionEnd] : null;
  detail.dataset.id = a.id;
  detail.replaceChildren(
    el('header', { class: 'detail-head sev-' + sevClass(a.severity) },
      el('span', { class: 'sev', text: label(SEVERITY, a.severity) }),
      el('h2', { text: a.rule_name || label(KIND, a.kind) }),
      el('span', { class: 'muted', text: label(STATE, a.state) })),
    el('div', { class: 'detail-body' }, body),
    a.state === 'open' ? actions(a) : null);
  if (wasOpen) detail.querySelector('details.rule-evidence').open = true;
  const reason = detail.querySelector('textarea[name="reason"]');
  if (reason && draftText) {
    reason.value = draftText;
    reason.dispatchEvent(new Event('input'));
  }
  if (reason && draftFocus && !reason.disabled) {
    reason.focus();
    reason.setSelectionRange(caret[0], caret[1]);
  }
}

function actions(a) {
  const acked = !!a.acknowledged_by;
  const msg = el('p', { class: 'error conflict', role: 'alert' });
  const reason = el('textarea', { name: 'reason', rows: 2, maxLength: 500, placeholder: t('alert.reason_placeholder'), disabled: !acked });
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
  return el('footer', { class: 'actions' },
    el('div', { class: 'row' }, ack, acked ? null : el('span', { class: 'muted small', text: t('alert.ack_first') }),
      el('span', { class: 'spacer' }), confirm, reject),
    el('label', {}, t('alert.reason'), reason),
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
