// The dashboard's own helpers: durations, SVG plots and the live event
// stream.
import { t } from './common.js';

// fmtDuration writes seconds as "45 s", "3 min 20 s" or "2 h 5 min".
export function fmtDuration(sec) {
  if (typeof sec !== 'number' || !Number.isFinite(sec)) return '—';
  const s = Math.round(sec);
  if (s < 60) return s + ' ' + t('unit.s');
  if (s < 3600) return Math.floor(s / 60) + ' ' + t('unit.min') + ' ' + (s % 60) + ' ' + t('unit.s');
  return Math.floor(s / 3600) + ' ' + t('unit.h') + ' ' + Math.floor((s % 3600) / 60) + ' ' + t('unit.min');
}

// svg builds an SVG element like el.
export function svg(tag, attrs, ...children) {
  const node = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null) continue;
    if (k === 'text') node.textContent = v;
    else node.setAttribute(k, v);
  }
  for (const c of children.flat()) if (c) node.append(c);
  return node;
}

// liveEvents opens the event stream and calls handlers[type] with each
// event's data; "lost" (events dropped for a slow browser) and a
// reconnect call onResync so the page refetches.
export function liveEvents(handlers, onResync) {
  const state = document.getElementById('live-state');
  const es = new EventSource('/api/v1/events');
  let opened = false;
  es.onopen = () => {
    if (state) { state.textContent = t('live.connected'); state.dataset.state = 'up'; }
    if (opened && onResync) onResync();
    opened = true;
  };
  es.onerror = () => { if (state) { state.textContent = t('live.reconnecting'); state.dataset.state = 'down'; } };
  for (const [type, fn] of Object.entries(handlers)) {
    es.addEventListener(type, (ev) => fn(JSON.parse(ev.data)));
  }
  es.addEventListener('lost', () => { if (onResync) onResync(); });
  return es;
}

export function fmtNum(x, digits = 2) {
  return typeof x === 'number' && Number.isFinite(x) ? x.toFixed(digits) : '—';
}
