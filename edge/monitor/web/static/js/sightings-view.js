// Rendering of sightings shared by the camera, person and sightings pages.
import { t, el, fmtTime, fmtNum } from './common.js';
import { pathFor } from './nav.js';

export function cropURL(s) {
  return '/api/v1/sightings/' + encodeURIComponent(s.id) + '/crop';
}

export function personLabel(s) {
  if (!s.person) return el('span', { class: 'unknown', text: t('live.unknown') });
  return el('a', { href: pathFor('person', s.person), text: s.name || s.person });
}

// sightingItem is a compact list entry: crop, who, when, score.
export function sightingItem(s) {
  return el('li', { class: 'sighting', dataset: { id: s.id } },
    s.has_crop ? el('img', { class: 'thumb', src: cropURL(s), loading: 'lazy', alt: '' }) : el('span', { class: 'thumb none' }),
    el('div', {},
      el('div', { class: 'who' }, personLabel(s)),
      el('div', { class: 'muted small' },
        fmtTime(s.last_seen || s.first_seen), ' · ', t('common.score'), ' ', fmtNum(s.score),
        ' · ', t('common.track'), ' #', String(s.track ?? ''))));
}
