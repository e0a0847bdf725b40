// Enrolment: create (or update) the person, upload photos or take a
// camera's snapshot, and show the verdict for each photo.
import { api, t, el, $, showError, page } from './common.js';
import { splitList, pathFor } from './nav.js';

const form = $('#enrol-form');
const drop = $('#drop');
const verdicts = $('#verdicts');
let files = [];

const VERDICT = {
  enrolled: () => t('verdict.enrolled'),
  already_enrolled: () => t('verdict.already_enrolled'),
  bad_image: () => t('verdict.bad_image'),
  no_face: () => t('verdict.no_face'),
  several_faces: () => t('verdict.several_faces'),
  poor_quality: () => t('verdict.poor_quality'),
  similar: () => t('verdict.similar'),
  error: () => t('verdict.error'),
};

// The quality reasons come from the server in English ("face too small:
// ..."); each known one gets its translated name in front.
const QUALITY = [
  ['face too small', () => t('quality.too_small')],
  ['blurred', () => t('quality.blurred')],
  ['head turned', () => t('quality.turned')],
  ['head tilted', () => t('quality.tilted')],
  ['head rolled', () => t('quality.rolled')],
  ['detector score', () => t('quality.detector')],
];

const personText = (id, name) => (!name || name === id ? id : name + ' (' + id + ')');

function explain(r, names) {
  if (r.status === 'similar') {
    const text = t('verdict.similar_to', { name: '\u0000', score: typeof r.score === 'number' ? r.score.toFixed(3) : '?' });
    const [before, after] = text.split('\u0000');
    const who = r.similar_to ? el('a', { href: pathFor('person', r.similar_to), text: personText(r.similar_to, names.get(r.similar_to)) }) : '?';
    return [before, who, after];
  }
  if (r.status === 'poor_quality' && r.reason) {
    return r.reason.split(';').map((part) => {
      const p = part.trim();
      const q = QUALITY.find(([prefix]) => p.startsWith(prefix));
      // In English the server's text already says it.
      return q && page.lang !== 'en' ? q[1]() + ' (' + p + ')' : p;
    }).join('; ');
  }
  return r.reason || '';
}

function setFiles(list) {
  files = Array.from(list).filter((f) => f.type.startsWith('image/') || f.type === '');
  verdicts.replaceChildren(...files.map((f) => el('li', { class: 'verdict', dataset: { status: 'pending' } },
    el('img', { class: 'thumb', src: URL.createObjectURL(f), alt: '' }),
    el('div', {}, el('div', { class: 'file', text: f.name }), el('div', { class: 'muted small', text: t('enrol.pending') })))));
}

form.photo.addEventListener('change', () => setFiles(form.photo.files));
drop.addEventListener('dragover', (ev) => { ev.preventDefault(); drop.classList.add('over'); });
drop.addEventListener('dragleave', () => drop.classList.remove('over'));
drop.addEventListener('drop', (ev) => {
  ev.preventDefault();
  drop.classList.remove('over');
  if (ev.dataTransfer && ev.dataTransfer.files.length) setFiles(ev.dataTransfer.files);
});
for (const r of form.querySelectorAll('input[name="source"]')) {
  r.addEventListener('change', () => { form.camera.disabled = form.source.value !== 'camera'; });
}

async function cameras() {
  try {
    const cams = ((await api('GET', '/api/v1/cameras')) || {}).cameras || [];
    form.camera.replaceChildren(...cams.map((c) => el('option', { value: c.id, text: c.name || c.id })));
  } catch (e) {
    showError(e);
  }
}

// ensurePerson creates the person, or updates the name and watch lists
// of one that exists.
async function ensurePerson(id, name, watch) {
  try {
    await api('POST', '/api/v1/persons', { id, name, status: 'active', watch_lists: watch, categories: [] });
    return;
  } catch (e) {
    if (e.status !== 409) throw e;
  }
  const cur = await api('GET', '/api/v1/persons/' + encodeURIComponent(id));
  const p = cur.person || cur;
  await api('PUT', '/api/v1/persons/' + encodeURIComponent(id), {
    id, name, facility: p.facility, status: p.status, categories: p.categories || [],
    watch_lists: [...new Set([...(p.watch_lists || []), ...watch])].sort(),
  });
}

// similarNames looks up the names of the persons a photo resembles, so
// that the verdict names them rather than their ids.
async function similarNames(results) {
  const names = new Map();
  if (!results.some((r) => r.similar_to)) return names;
  try {
    for (const p of ((await api('GET', '/api/v1/persons')) || {}).persons || []) names.set(p.id, p.name);
  } catch { /* the ids still say who */ }
  return names;
}

function showResults(results, fromCamera, names) {
  const items = results.map((r, i) => {
    const local = files.find((f) => f.name === r.file) || (!fromCamera ? files[i] : null);
    const ok = r.status === 'enrolled' || r.status === 'already_enrolled';
    return el('li', { class: 'verdict ' + (ok ? 'ok' : 'bad'), dataset: { status: r.status, file: r.file || '' } },
      local ? el('img', { class: 'thumb', src: URL.createObjectURL(local), alt: '' }) : el('span', { class: 'thumb none' }),
      el('div', {},
        el('div', { class: 'file', text: r.file || (fromCamera ? t('enrol.snapshot') : '') }),
        el('div', { class: 'status', text: VERDICT[r.status] ? VERDICT[r.status]() : r.status }),
        el('div', { class: 'muted small' }, explain(r, names))));
  });
  verdicts.replaceChildren(...items);
}

form.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const err = $('#enrol-error');
  err.textContent = '';
  const id = form.elements.namedItem('id').value.trim();
  const name = form.elements.namedItem('name').value.trim();
  const fromCamera = form.source.value === 'camera';
  if (!fromCamera && !files.length) {
    err.textContent = t('enrol.no_files');
    return;
  }
  const button = form.querySelector('button[type="submit"]');
  button.disabled = true;
  try {
    await ensurePerson(id, name, splitList(form.watch_lists.value));
    const fd = new FormData();
    if (fromCamera) fd.append('camera', form.camera.value);
    else for (const f of files) fd.append('photo', f, f.name);
    const res = await api('POST', '/api/v1/persons/' + encodeURIComponent(id) + '/photos', fd);
    const results = (res && res.results) || [];
    showResults(results, fromCamera, await similarNames(results));
    const link = el('a', { href: pathFor('person', id), text: t('enrol.open_person') });
    err.replaceChildren(link);
  } catch (e) {
    err.textContent = e.message;
  } finally {
    button.disabled = false;
  }
});

cameras();
