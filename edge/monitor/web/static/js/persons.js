import { api, t, el, $, showError, fmtNum } from './common.js';
import { pathFor } from './nav.js';

const form = $('#person-search');
const body = $('#person-table tbody');

const STATUS = {
  active: () => t('status.active'),
  in_transit: () => t('status.in_transit'),
  released: () => t('status.released'),
};

async function search() {
  const q = new URLSearchParams();
  if (form.q.value.trim()) q.set('q', form.q.value.trim());
  if (form.watch_list.value.trim()) q.set('watch_list', form.watch_list.value.trim());
  try {
    const data = await api('GET', '/api/v1/persons' + (q.toString() ? '?' + q : ''));
    const items = (data && data.persons) || [];
    body.replaceChildren(...items.map((p) => el('tr', { dataset: { id: p.id } },
      el('td', {}, el('a', { href: pathFor('person', p.id), text: p.id })),
      el('td', {}, el('a', { href: pathFor('person', p.id), text: p.name })),
      el('td', { text: STATUS[p.status] ? STATUS[p.status]() : p.status }),
      el('td', { text: (p.watch_lists || []).join(', ') }),
      el('td', { text: (p.categories || []).join(', ') }))));
    $('#persons-empty').hidden = items.length > 0;
  } catch (e) {
    showError(e);
  }
}

if (form) {
  form.addEventListener('submit', (ev) => { ev.preventDefault(); search(); });
  search();
}

// Search by photo (supervisors): the picture with a box per face found,
// and per face whether it could be searched and whom it resembles most.
const rform = $('#recognize-form');
const QUALITY = [
  ['face too small', 'quality.too_small'],
  ['blurred', 'quality.blurred'],
  ['head turned', 'quality.turned'],
  ['head tilted', 'quality.tilted'],
  ['head rolled', 'quality.rolled'],
  ['detector score', 'quality.detector'],
];

// why translates the recognizer's reasons ("face too small: ...; blurred:
// ..."), keeping the measured values in brackets.
function why(reason) {
  return String(reason || '').split(';').map((part) => {
    const p = part.trim();
    const q = QUALITY.find(([prefix]) => p.startsWith(prefix));
    if (!q) return p;
    const detail = p.slice(q[0].length).replace(/^[:\s]+/, '');
    return t(q[1]) + (detail ? ' (' + detail + ')' : '');
  }).filter(Boolean).join('; ');
}

const personText = (id, name) => (!name || name === id ? id : name + ' (' + id + ')');

function showFaces(img, faces) {
  const stage = img.parentElement;
  for (const b of stage.querySelectorAll('.face-box')) b.remove();
  const W = img.naturalWidth;
  const H = img.naturalHeight;
  // The server scales pictures larger than 1920 px down before searching.
  const k = Math.max(W, H) > 1920 ? 1920 / Math.max(W, H) : 1;
  const pct = (v, total) => (100 * v / (total * k)).toFixed(3) + '%';
  faces.forEach((f, i) => {
    const b = f.box || {};
    // Positions through the CSSOM: a strict CSP refuses style attributes.
    const box = el('div', { class: 'face-box' + (f.usable ? '' : ' bad') }, el('span', { text: String(i + 1) }));
    Object.assign(box.style, { left: pct(b.x, W), top: pct(b.y, H), width: pct(b.w, W), height: pct(b.h, H) });
    stage.append(box);
  });
  $('#recognize-faces').replaceChildren(...faces.map((f, i) => {
    const matches = f.matches || [];
    return el('li', { class: 'face' + (f.usable ? '' : ' bad'), dataset: { usable: String(!!f.usable) } },
      el('div', { class: 'row' },
        el('strong', { text: t('recognize.face', { n: i + 1 }) }),
        el('span', { class: f.usable ? 'ok' : 'unknown', text: f.usable ? t('recognize.usable') : t('recognize.unusable') }),
        el('span', { class: 'muted small', text: t('person.quality') + ' ' + fmtNum(f.quality) })),
      f.usable ? null : el('div', { class: 'small reason', text: why(f.reason) }),
      matches.length
        ? el('ol', { class: 'matches' }, matches.map((m) => el('li', { dataset: { person: m.person } },
          el('a', { href: pathFor('person', m.person), text: personText(m.person, m.name) }),
          ' · ', t('common.score'), ' ', fmtNum(m.score, 3))))
        : el('div', { class: 'muted small', text: f.usable ? t('recognize.no_match') : '' }));
  }));
}

if (rform) {
  let shown = '';
  rform.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const file = rform.image.files[0];
    if (!file) return;
    const button = rform.querySelector('button[type="submit"]');
    button.disabled = true;
    $('#recognize-result').hidden = true;
    $('#recognize-none').hidden = true;
    try {
      const body = new FormData();
      body.append('image', file, file.name);
      const data = await api('POST', '/api/v1/recognize', body);
      const faces = (data && data.faces) || [];
      const img = $('#recognize-image');
      if (shown) URL.revokeObjectURL(shown);
      shown = URL.createObjectURL(file);
      img.src = shown;
      await img.decode().catch(() => {});
      $('#recognize-result').hidden = false;
      $('#recognize-none').hidden = faces.length > 0;
      showFaces(img, faces);
    } catch (e) {
      showError(e);
    } finally {
      button.disabled = false;
    }
  });
}
