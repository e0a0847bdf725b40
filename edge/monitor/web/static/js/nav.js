// The monitor's links: its page paths, the page's parameter and the
// comma-separated lists of its forms.
import { page } from './common.js';

export function splitList(s) {
  return String(s || '').split(',').map((x) => x.trim()).filter(Boolean);
}

export function pathFor(pageName, id) {
  const p = (page.paths && page.paths[pageName]) || '/' + pageName;
  return id === undefined ? p : p.replace('{id}', encodeURIComponent(id));
}

// pageArg returns the page's parameter (camera or person id) from the
// server's data, else from the last segment of the URL path.
export function pageArg(name) {
  const v = page.extra && page.extra[name];
  if (v) return v;
  const parts = location.pathname.split('/').filter(Boolean);
  return decodeURIComponent(parts[parts.length - 1] || '');
}
