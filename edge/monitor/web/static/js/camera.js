import { api, t, el, $, showError, roleIs, flash } from './common.js';
import { pageArg } from './nav.js';
import { Player } from './player.js';
import { sightingItem } from './sightings-view.js';

const id = pageArg('camera');
const list = $('#camera-sightings');

async function loadSightings() {
  try {
    const data = await api('GET', '/api/v1/cameras/' + encodeURIComponent(id) + '/sightings?limit=30');
    const items = (data && data.sightings) || [];
    list.replaceChildren(...items.map(sightingItem));
    if (!items.length) list.append(el('li', { class: 'muted', text: t('common.nothing') }));
  } catch (e) {
    showError(e);
  }
}

function watchEvents() {
  if (!window.EventSource) return;
  const es = new EventSource('/api/v1/events', { withCredentials: true });
  let pending = 0;
  const refetch = () => {
    clearTimeout(pending);
    pending = setTimeout(loadSightings, 300);
  };
  es.addEventListener('sighting', (ev) => {
    try {
      const s = JSON.parse(ev.data);
      if (s.camera === id) refetch();
    } catch { /* ignore a malformed event */ }
  });
  es.addEventListener('lost', refetch);
}

// Zone editor: a polygon over the snapshot, in normalised coordinates.
function zoneEditor(camera) {
  const box = $('#zone-editor');
  box.hidden = false;
  const img = $('#zone-img');
  const canvas = $('#zone-canvas');
  const status = $('#zone-status');
  let points = (camera.region || []).map((p) => [p[0], p[1]]);
  let drag = -1;

  const snapshot = () => { img.src = '/api/v1/cameras/' + encodeURIComponent(id) + '/snapshot?t=' + Date.now(); };
  const pos = (ev) => {
    const r = canvas.getBoundingClientRect();
    return [Math.min(1, Math.max(0, (ev.clientX - r.left) / r.width)), Math.min(1, Math.max(0, (ev.clientY - r.top) / r.height))];
  };
  const near = (p) => {
    const r = canvas.getBoundingClientRect();
    return points.findIndex((q) => Math.hypot((q[0] - p[0]) * r.width, (q[1] - p[1]) * r.height) < 10);
  };
  const draw = () => {
    const w = canvas.clientWidth;
    const h = canvas.clientHeight;
    canvas.width = w;
    canvas.height = h;
    const g = canvas.getContext('2d');
    g.clearRect(0, 0, w, h);
    if (!points.length) return;
    g.beginPath();
    points.forEach((p, i) => (i ? g.lineTo(p[0] * w, p[1] * h) : g.moveTo(p[0] * w, p[1] * h)));
    g.closePath();
    g.fillStyle = 'rgba(255,176,32,0.18)';
    g.fill();
    g.strokeStyle = '#ffb020';
    g.lineWidth = 2;
    g.stroke();
    g.fillStyle = '#ffffff';
    for (const p of points) g.fillRect(p[0] * w - 4, p[1] * h - 4, 8, 8);
    status.textContent = t('zone.points', { n: points.length });
  };
  canvas.addEventListener('pointerdown', (ev) => {
    const p = pos(ev);
    drag = near(p);
    if (drag < 0 && points.length < 32) {
      points.push(p);
      drag = points.length - 1;
    }
    canvas.setPointerCapture(ev.pointerId);
    draw();
  });
  canvas.addEventListener('pointermove', (ev) => {
    if (drag < 0) return;
    points[drag] = pos(ev);
    draw();
  });
  canvas.addEventListener('pointerup', () => { drag = -1; });
  img.addEventListener('load', draw);
  new ResizeObserver(draw).observe(canvas);
  $('#zone-clear').addEventListener('click', () => { points = []; draw(); status.textContent = t('zone.points', { n: 0 }); });
  $('#zone-reload').addEventListener('click', snapshot);
  $('#zone-save').addEventListener('click', async () => {
    if (points.length && points.length < 3) {
      status.textContent = t('zone.too_few');
      return;
    }
    const round = (x) => Math.round(x * 10000) / 10000;
    try {
      await api('PUT', '/api/v1/cameras/' + encodeURIComponent(id) + '/region', { points: points.map((p) => [round(p[0]), round(p[1])]) });
      flash(t('zone.saved'));
    } catch (e) {
      showError(e);
    }
  });
  snapshot();
}

async function main() {
  let camera;
  try {
    camera = await api('GET', '/api/v1/cameras/' + encodeURIComponent(id));
  } catch (e) {
    showError(e);
    return;
  }
  $('#camera-title').textContent = camera.name || camera.id;
  document.title = (camera.name || camera.id) + ' · ' + document.title;
  new Player($('#player'), camera);
  if (roleIs('supervisor', 'installer')) zoneEditor(camera);
  if (roleIs('guard', 'supervisor')) {
    loadSightings();
    watchEvents();
  } else {
    $('.focus-side').hidden = true;
  }
}

main();
