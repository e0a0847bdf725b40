// Shared by every page: the page's parameters and dictionary, the API
// client (same-origin credentials, CSRF header on state changes, JSON
// errors), small DOM helpers and the top bar's buttons.

const readJSON = (id) => {
  const node = document.getElementById(id);
  return node ? JSON.parse(node.textContent) : {};
};

export const page = readJSON('page');
export const dict = readJSON('i18n');
export const csrf = document.querySelector('meta[name="csrf-token"]')?.content || '';

// t returns the text of key in the page's language, with {name}
// placeholders filled from vars.
export function t(key, vars) {
  let s = Object.hasOwn(dict, key) ? dict[key] : key;
  if (vars) {
    for (const [k, v] of Object.entries(vars)) s = s.split('{' + k + '}').join(String(v));
  }
  return s;
}

export class ApiError extends Error {
  constructor(status, message, field, body) {
    super(message);
    this.status = status;
    this.field = field || '';
    this.body = body || {};
  }
}

const SAFE = new Set(['GET', 'HEAD']);

// api calls the server's JSON API. body is sent as JSON, or as is when it
// is FormData. It resolves to the decoded JSON (null for 204) and rejects
// with an ApiError carrying the server's message.
export async function api(method, path, body) {
  const headers = { Accept: 'application/json' };
  const init = { method, headers, credentials: 'same-origin' };
  if (!SAFE.has(method)) headers['X-CSRF-Token'] = csrf;
  if (body instanceof FormData) {
    init.body = body;
  } else if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (e) {
    throw new ApiError(0, t('error.network'), '', {});
  }
  if (res.status === 401 && page.page !== 'login') {
    location.assign('/login?next=' + encodeURIComponent(location.pathname + location.search));
    throw new ApiError(401, t('error.session'), '', {});
  }
  const text = await res.text();
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch { data = null; }
  }
  if (!res.ok) {
    const msg = (data && data.error) || res.statusText || t('error.unknown');
    const err = new ApiError(res.status, msg, data && data.field, data);
    err.retryAfter = Number(res.headers.get('Retry-After')) || 0;
    throw err;
  }
  return data;
}

// el builds an element: attrs sets properties (class, dataset, on*
// listeners, attributes), children are nodes or text.
export function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') node.className = v;
    else if (k === 'dataset') Object.assign(node.dataset, v);
    else if (k.startsWith('on') && typeof v === 'function') node.addEventListener(k.slice(2), v);
    else if (k === 'text') node.textContent = v;
    else if (k in node && typeof v !== 'string') node[k] = v;
    else node.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

export const $ = (sel, root = document) => root.querySelector(sel);
export const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));

const locale = () => (page.lang === 'en' ? 'en-GB' : 'ru-RU');

export function fmtTime(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return d.toLocaleString(locale(), { year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

export function fmtNum(x, digits = 2) {
  return typeof x === 'number' && Number.isFinite(x) ? x.toFixed(digits) : '—';
}

// localToRFC3339 turns a datetime-local value (the browser's time zone)
// into the UTC time the API reads.
export function localToRFC3339(v) {
  if (!v) return '';
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? '' : d.toISOString();
}

let flashTimer = 0;
// flash shows a short message under the top bar.
export function flash(message, kind = 'info') {
  const box = document.getElementById('flash');
  if (!box) return;
  box.textContent = message;
  box.className = 'flash ' + kind;
  box.hidden = false;
  clearTimeout(flashTimer);
  flashTimer = setTimeout(() => { box.hidden = true; }, kind === 'error' ? 10000 : 4000);
}

export function showError(err) {
  flash(err && err.message ? err.message : String(err), 'error');
}

export const roleIs = (...roles) => roles.includes(page.role);

function initChrome() {
  for (const b of document.querySelectorAll('button[data-lang]')) {
    b.addEventListener('click', async () => {
      const lang = b.dataset.lang;
      if (!page.user) {
        // No account yet: the login page reads the cookie.
        document.cookie = 'dozor_lang=' + lang + '; path=/; SameSite=Strict; max-age=31536000';
        location.reload();
        return;
      }
      try {
        await api('PATCH', '/api/v1/me', { lang });
        location.reload();
      } catch (e) {
        showError(e);
      }
    });
  }
  const logout = document.getElementById('logout');
  if (logout) {
    logout.addEventListener('click', async () => {
      try { await api('POST', '/api/v1/logout'); } catch (e) { /* leaving anyway */ }
      location.assign('/login');
    });
  }
}

initChrome();
