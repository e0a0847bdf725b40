import { api, t, el, $, showError } from './common.js';
import { pathFor } from './nav.js';
import { Player } from './player.js';

const grid = $('#grid');
const players = new Map();

function columns(n) {
  return Math.max(1, Math.ceil(Math.sqrt(n)));
}

async function load() {
  let data;
  try {
    data = await api('GET', '/api/v1/cameras');
  } catch (e) {
    showError(e);
    return;
  }
  const cams = (data && data.cameras) || [];
  $('#live-empty').hidden = cams.length > 0;
  const cols = columns(cams.length);
  grid.style.setProperty('--cols', String(cols));
  grid.style.setProperty('--rows', String(Math.max(1, Math.ceil(cams.length / cols))));
  for (const cam of cams) {
    const tile = el('a', { href: pathFor('camera', cam.id), class: 'tile', title: t('live.open_focus') });
    grid.append(tile);
    players.set(cam.id, new Player(tile, cam));
  }
}

load();
