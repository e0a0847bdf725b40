// The admin's accounts page: list, add, change role or language,
// disable or enable, reset the password, delete. The server refuses
// (409) what would leave no enabled admin; its message is shown.
import { api, t, el, $, page, flash, showError } from './common.js';

const roles = ['operator', 'supervisor', 'admin', 'auditor'];
const langs = ['ru', 'en'];

const path = (name) => '/api/v1/users/' + encodeURIComponent(name);

async function change(name, body, done) {
  try {
    await api('PUT', path(name), body);
    flash(t(done, { name }));
  } catch (e) {
    showError(e);
  }
  load();
}

function select(options, value, label, onchange) {
  return el('select', { onchange, 'aria-label': label },
    options.map((o) => el('option', { value: o, selected: o === value }, label === 'lang' ? o.toUpperCase() : t('role.' + o))));
}

function row(u) {
  const self = u.name === page.user;
  const reset = async () => {
    const pw = prompt(t('users.new_password', { name: u.name }));
    if (!pw) return;
    change(u.name, { password: pw }, 'users.password_reset');
  };
  const remove = async () => {
    if (!confirm(t('users.confirm_delete', { name: u.name }))) return;
    try {
      await api('DELETE', path(u.name));
      flash(t('users.deleted', { name: u.name }));
    } catch (e) {
      showError(e);
    }
    load();
  };
  return el('tr', { class: u.disabled ? 'disabled' : '', dataset: { user: u.name } },
    el('td', {}, u.name, self ? el('span', { class: 'muted small' }, ' · ' + t('users.you')) : ''),
    el('td', {}, select(roles, u.role, 'role', (ev) => change(u.name, { role: ev.target.value }, 'users.saved'))),
    el('td', {}, select(langs, u.lang, 'lang', (ev) => change(u.name, { lang: ev.target.value }, 'users.saved'))),
    el('td', {}, u.disabled ? t('users.disabled') : t('users.enabled')),
    el('td', { class: 'row' },
      el('button', { type: 'button', class: 'toggle', onclick: () => change(u.name, { disabled: !u.disabled }, 'users.saved') },
        u.disabled ? t('users.enable') : t('users.disable')),
      el('button', { type: 'button', class: 'reset', onclick: reset }, t('users.reset')),
      el('button', { type: 'button', class: 'danger delete', onclick: remove }, t('users.delete'))));
}

function load() {
  api('GET', '/api/v1/users').then((list) => {
    $('#users tbody').replaceChildren(...list.map(row));
  }).catch(showError);
}

$('#user-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const form = ev.target;
  const data = Object.fromEntries(new FormData(form));
  try {
    await api('POST', '/api/v1/users', data);
    flash(t('users.created', { name: data.name }));
    form.reset();
  } catch (e) {
    showError(e);
  }
  load();
});

load();
