// The live player of one camera tile: MSE video from the camera's live
// WebSocket (fMP4 fragments), or a snapshot refreshed about once a
// second, with the recognised faces drawn on a canvas over it.
//
// Observable state for tests and styles lives on the tile element:
// data-mode ("mse" | "snapshot"), data-state (the camera's health) and,
// after each draw, data-drawn (a JSON array of the drawn labels' names).

import { t, el } from './common.js';

const MAX_BUFFER_S = 10; // keep about this much video in the SourceBuffer
const LIVE_LAG_S = 2; // jump to the live edge past this lag
const BOX_MATCH_MS = 400; // a box frame this close to the video's wall time is drawn
const SNAPSHOT_MS = 1000;
const KEEP_BOXES_MS = 15000;

const HEALTH = {
  streaming: () => t('health.streaming'),
  stalled: () => t('health.stalled'),
  down: () => t('health.down'),
  starting: () => t('health.starting'),
  connecting: () => t('health.connecting'),
};

export function healthText(state) {
  return (HEALTH[state] || (() => state || t('health.unknown')))();
}

function wsURL(cameraID) {
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return proto + '//' + location.host + '/api/v1/cameras/' + encodeURIComponent(cameraID) + '/live';
}

export class Player {
  // tile: the element to fill; camera: the Camera JSON.
  constructor(tile, camera) {
    this.tile = tile;
    this.camera = camera;
    this.clocks = []; // {media, wall}, ascending by media
    this.boxes = []; // box frames, ascending by wall
    this.queue = []; // fragments waiting for the SourceBuffer
    this.backoff = 1000;
    this.closed = false;
    this.mode = '';
    this.lastDrawKey = null;

    this.video = el('video', { class: 'live-video', muted: true, autoplay: true, playsInline: true });
    this.video.muted = true;
    this.img = el('img', { class: 'live-snapshot', alt: '', hidden: true });
    this.canvas = el('canvas', { class: 'overlay' });
    this.badge = el('span', { class: 'badge' });
    this.title = el('span', { class: 'tile-name', text: camera.name || camera.id });
    tile.dataset.camera = camera.id;
    tile.classList.add('tile');
    tile.append(this.video, this.img, this.canvas,
      el('div', { class: 'tile-bar' }, this.title, this.badge));
    this.setHealth(camera);
    this.setMode(camera.mode === 'mse' ? 'mse' : 'snapshot');

    this.img.addEventListener('load', () => { this.img.hidden = this.mode !== 'snapshot'; this.draw(true); });
    this.frame = () => {
      if (this.closed) return;
      this.draw(false);
      requestAnimationFrame(this.frame);
    };
    requestAnimationFrame(this.frame);
    this.resize = new ResizeObserver(() => this.draw(true));
    this.resize.observe(tile);
    this.connect();
  }

  close() {
    this.closed = true;
    clearTimeout(this.retryTimer);
    clearTimeout(this.snapTimer);
    this.resize.disconnect();
    if (this.ws) this.ws.close();
    this.teardownMSE();
  }

  setMode(mode) {
    this.mode = mode;
    this.tile.dataset.mode = mode;
    this.video.hidden = mode !== 'mse';
    if (mode !== 'snapshot') this.img.hidden = true;
    this.updateBadge();
    if (mode === 'snapshot') this.refreshSnapshot();
  }

  // setHealth takes a Camera or a health message: state, reason, error.
  setHealth(h) {
    this.state = h.state || 'starting';
    this.reason = h.reason || h.error || '';
    this.tile.dataset.state = this.state;
    this.updateBadge();
  }

  updateBadge() {
    const mode = this.mode === 'mse' ? t('live.mode_video') : t('live.mode_snapshot');
    let text = mode + ' · ' + healthText(this.state);
    if (this.state !== 'streaming' && this.reason) text += ': ' + this.reason;
    this.badge.textContent = text;
    this.badge.className = 'badge health-' + this.state;
    this.badge.title = text;
  }

  connect() {
    if (this.closed) return;
    let ws;
    try {
      ws = new WebSocket(wsURL(this.camera.id));
    } catch (e) {
      this.scheduleReconnect();
      return;
    }
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    ws.addEventListener('message', (ev) => {
      if (typeof ev.data === 'string') this.onText(ev.data);
      else this.onBinary(ev.data);
    });
    ws.addEventListener('close', () => {
      if (this.ws !== ws) return;
      this.ws = null;
      if (this.state === 'streaming') this.setHealth({ state: 'connecting' });
      this.scheduleReconnect();
    });
  }

  scheduleReconnect() {
    if (this.closed) return;
    clearTimeout(this.retryTimer);
    const wait = this.backoff * (0.75 + Math.random() * 0.5);
    this.backoff = Math.min(this.backoff * 2, 30000);
    this.retryTimer = setTimeout(() => this.connect(), wait);
  }

  onText(text) {
    let m;
    try { m = JSON.parse(text); } catch { return; }
    switch (m.type) {
      case 'hello':
        this.backoff = 1000;
        this.clocks = [];
        this.teardownMSE();
        if (m.mode === 'mse' && this.startMSE(m.codec)) this.setMode('mse');
        else this.setMode('snapshot');
        break;
      case 'clock':
        if (typeof m.media === 'number' && typeof m.wall === 'number') {
          // A clock older than the last one means a new timeline (the
          // server restarted the stream): start over.
          const last = this.clocks[this.clocks.length - 1];
          if (last && m.media < last.media) this.clocks = [];
          this.clocks.push({ media: m.media, wall: m.wall });
          if (this.clocks.length > 64) this.clocks.shift();
        }
        break;
      case 'boxes':
        if (typeof m.wall === 'number' && Array.isArray(m.faces)) {
          this.boxes.push(m);
          const cut = m.wall - KEEP_BOXES_MS;
          while (this.boxes.length && (this.boxes[0].wall < cut || this.boxes.length > 600)) this.boxes.shift();
          if (this.mode === 'snapshot') this.draw(true);
        }
        break;
      case 'health':
        this.setHealth(m);
        break;
      default:
    }
  }

  // MSE: one MediaSource per WebSocket connection; the server starts
  // every connection with the init segment.
  startMSE(codec) {
    const type = 'video/mp4; codecs="' + (codec || 'avc1.42e01f') + '"';
    if (!window.MediaSource || !MediaSource.isTypeSupported(type)) return false;
    const ms = new MediaSource();
    this.ms = ms;
    this.queue = [];
    this.video.src = URL.createObjectURL(ms);
    ms.addEventListener('sourceopen', () => {
      if (this.ms !== ms) return;
      URL.revokeObjectURL(this.video.src);
      try {
        this.sb = ms.addSourceBuffer(type);
      } catch (e) {
        this.teardownMSE();
        this.setMode('snapshot');
        return;
      }
      this.sb.mode = 'segments';
      this.sb.addEventListener('updateend', () => this.pump());
      this.pump();
    }, { once: true });
    return true;
  }

  teardownMSE() {
    this.sb = null;
    this.queue = [];
    if (this.ms) {
      this.ms = null;
      this.video.removeAttribute('src');
      this.video.load();
    }
  }

  onBinary(buf) {
    if (this.mode !== 'mse' || !this.ms) return;
    this.queue.push(buf);
    // A browser that cannot keep up loses old video, not the live edge.
    if (this.queue.length > 300) this.queue.splice(0, this.queue.length - 300);
    this.pump();
  }

  pump() {
    const sb = this.sb;
    if (!sb || sb.updating || !this.ms || this.ms.readyState !== 'open') return;
    const v = this.video;
    const b = sb.buffered;
    if (b.length) {
      const start = b.start(0);
      const end = b.end(b.length - 1);
      if (end - v.currentTime > LIVE_LAG_S) v.currentTime = Math.max(start, end - 0.3);
      if (end - start > MAX_BUFFER_S && v.currentTime - start > 1) {
        try {
          sb.remove(start, Math.min(v.currentTime - 1, end - MAX_BUFFER_S / 2));
          return; // updateend pumps again
        } catch { /* append below */ }
      }
    }
    const next = this.queue.shift();
    if (!next) return;
    try {
      sb.appendBuffer(next);
    } catch (e) {
      // QuotaExceeded or a broken fragment: drop what is queued and let
      // the next keyframe after a reconnect start over.
      this.queue = [];
      if (this.ws) this.ws.close();
    }
    if (v.paused) v.play().catch(() => {});
  }

  refreshSnapshot() {
    clearTimeout(this.snapTimer);
    if (this.closed || this.mode !== 'snapshot') return;
    if (!document.hidden) {
      this.img.src = '/api/v1/cameras/' + encodeURIComponent(this.camera.id) + '/snapshot?t=' + Date.now();
    }
    this.snapTimer = setTimeout(() => this.refreshSnapshot(), SNAPSHOT_MS);
  }

  // mediaToWall maps a media time (seconds) to capture wall time (ms)
  // through the nearest clock at or before it.
  mediaToWall(media) {
    let best = null;
    for (const c of this.clocks) {
      if (c.media <= media) best = c;
      else break;
    }
    best = best || this.clocks[0];
    if (!best) return null;
    return best.wall + (media - best.media) * 1000;
  }

  // currentBoxes returns the box frame to draw now, or null.
  currentBoxes() {
    if (!this.boxes.length) return null;
    if (this.mode === 'snapshot') return this.boxes[this.boxes.length - 1];
    const wall = this.mediaToWall(this.video.currentTime);
    if (wall === null) return null;
    let best = null;
    let bestD = Infinity;
    for (const f of this.boxes) {
      const d = Math.abs(f.wall - wall);
      if (d < bestD) { best = f; bestD = d; }
    }
    return bestD <= BOX_MATCH_MS ? best : null;
  }

  // contentRect is where the picture shows inside the tile (object-fit:
  // contain), in CSS pixels relative to the canvas.
  contentRect(w, h) {
    const media = this.mode === 'mse' ? this.video : this.img;
    const iw = this.mode === 'mse' ? media.videoWidth : media.naturalWidth;
    const ih = this.mode === 'mse' ? media.videoHeight : media.naturalHeight;
    if (!iw || !ih) return { x: 0, y: 0, w, h };
    const s = Math.min(w / iw, h / ih);
    return { x: (w - iw * s) / 2, y: (h - ih * s) / 2, w: iw * s, h: ih * s };
  }

  draw(force) {
    const frame = this.currentBoxes();
    const key = frame ? frame.wall : null;
    if (!force && key === this.lastDrawKey) return;
    this.lastDrawKey = key;
    const c = this.canvas;
    const dpr = window.devicePixelRatio || 1;
    const w = c.clientWidth;
    const h = c.clientHeight;
    if (c.width !== Math.round(w * dpr) || c.height !== Math.round(h * dpr)) {
      c.width = Math.round(w * dpr);
      c.height = Math.round(h * dpr);
    }
    const g = c.getContext('2d');
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, w, h);
    const names = [];
    if (frame) {
      const r = this.contentRect(w, h);
      g.lineWidth = 2;
      g.font = '600 13px system-ui, sans-serif';
      g.textBaseline = 'bottom';
      for (const f of frame.faces) {
        const known = !!f.known;
        const name = known && f.name ? f.name : t('live.unknown');
        names.push(name);
        const colour = known ? '#3ddc84' : '#ffb020';
        const x = r.x + f.x * r.w;
        const y = r.y + f.y * r.h;
        g.strokeStyle = colour;
        g.strokeRect(x, y, f.w * r.w, f.h * r.h);
        const label = name + ' #' + f.track + ' ' + (typeof f.score === 'number' ? f.score.toFixed(2) : '');
        const tw = g.measureText(label).width + 8;
        const ly = Math.max(16, y);
        g.fillStyle = 'rgba(0,0,0,0.7)';
        g.fillRect(x, ly - 16, tw, 16);
        g.fillStyle = colour;
        g.fillText(label, x + 4, ly - 2);
      }
    }
    this.tile.dataset.drawn = JSON.stringify(names);
  }
}
