import { api, t, $ } from './common.js';

// nextPath returns where to go after logging in: the "next" parameter
// when it is a path on this site, else the home page.
function nextPath() {
  const n = new URLSearchParams(location.search).get('next') || '';
  return n.startsWith('/') && !n.startsWith('//') && !n.startsWith('/\\') ? n : '/';
}

const form = $('#login-form');
const error = $('#login-error');

form.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  error.hidden = true;
  const button = form.querySelector('button[type="submit"]');
  button.disabled = true;
  try {
    await api('POST', '/api/v1/login', { user: form.user.value.trim(), password: form.password.value });
    location.assign(nextPath());
  } catch (e) {
    if (e.status === 429) error.textContent = t('login.too_many', { n: e.retryAfter || 60 });
    else if (e.status === 401) error.textContent = t('login.wrong');
    else error.textContent = e.message;
    error.hidden = false;
    form.password.value = '';
  } finally {
    button.disabled = false;
  }
});
