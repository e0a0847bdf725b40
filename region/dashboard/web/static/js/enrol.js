// Enrolment at the region: a profile, a facility and photos go up as
// multipart; the answer is a verdict per photo.
import { api, t, el, $, fmtNum, showError } from './common.js';
import { fillSites, personHref } from './gallery-common.js';

const ok = new Set(['enrolled', 'already_enrolled']);

// preview reads a chosen file as a data: URL (the page's policy allows no
// blob: images).
function preview(file) {
  return new Promise((resolve) => {
    const r = new FileReader();
    r.onload = () => resolve(r.result);
    r.onerror = () => resolve('');
    r.readAsDataURL(file);
  });
}

function detail(v) {
  if (v.status === 'similar' && v.similar_to) {
    return [el('a', { href: personHref(v.similar_to) }, t('enrol.similar', { person: v.similar_to, score: fmtNum(v.score) })),
      el('div', { class: 'muted small' }, v.reason || '')];
  }
  return [v.reason || (v.sha256 ? el('span', { class: 'mono small' }, v.sha256.slice(0, 16)) : '')];
}

$('#enrol-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const form = ev.target;
  const files = [...form.elements.photos.files];
  const data = new FormData();
  for (const k of ['id', 'display_name', 'facility', 'categories', 'watch_lists']) {
    const v = form.elements[k].value.trim();
    if (v) data.set(k, v);
  }
  for (const f of files) data.append('photos', f, f.name);
  $('#enrol-submit').disabled = true;
  $('#enrol-busy').hidden = false;
  try {
    const res = await api('POST', '/api/v1/gallery/enrol', data);
    const thumbs = await Promise.all(files.map(preview));
    const good = res.results.filter((v) => ok.has(v.status)).length;
    $('#enrol-summary').replaceChildren(t('enrol.summary', { id: res.person, ok: good, n: res.results.length }), ' ',
      good ? el('a', { href: personHref(res.person), id: 'enrol-person' }, t('enrol.open')) : '');
    $('#verdicts tbody').replaceChildren(...res.results.map((v, i) => el('tr', {
      class: 'verdict-row ' + (ok.has(v.status) ? 'verdict-ok' : 'verdict-bad'), dataset: { status: v.status, file: v.file } },
    el('td', {}, thumbs[i] ? el('img', { class: 'thumb', src: thumbs[i], alt: v.file }) : ''),
    el('td', { class: 'file' }, v.file),
    el('td', { class: 'status' }, t('verdict.' + v.status)),
    el('td', {}, v.faces === 1 ? fmtNum(v.quality) : '—'),
    el('td', { class: 'verdict-detail' }, ...detail(v)))));
  } catch (e) {
    showError(e);
  } finally {
    $('#enrol-submit').disabled = false;
    $('#enrol-busy').hidden = true;
  }
});

const id = new URLSearchParams(location.search).get('id');
if (id) $('#enrol-form').elements.id.value = id;
fillSites($('#sites-list'));
