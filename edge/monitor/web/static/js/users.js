import { api, t, el, $, showError, flash, page } from './common.js';

const ROLES = ['guard', 'supervisor', 'installer', 'auditor', 'admin'];
const ROLE = {
  guard: () => t('role.guard'),
  supervisor: () => t('role.supervisor'),
  installer: () => t('role.installer'),
  auditor: () => t('role.auditor'),
  admin: () => t('role.admin'),
};
const roleOptions = (cur) => ROLES.map((r) => el('option', { value: r, text: ROLE[r](), selected: r === cur }));
const langOptions = (cur) => [['ru', 'Русский'], ['en', 'English']].map(([v, l]) => el('option', { value: v, text: l, selected: v === cur }));

const form = $('#user-add');
form.elements.namedItem('role').replaceChildren(...roleOptions('guard'));

async function update(name, body, what) {
  try {
    await api('PUT', '/api/v1/users/' + encodeURIComponent(name), body);
    flash(what);
    load();
  } catch (e) {
    showError(e);
    load();
  }
}

function row(u) {
  const role = el('select', { onchange: () => update(u.name, { role: role.value }, t('common.saved')) }, roleOptions(u.role));
  const lang = el('select', { onchange: () => update(u.name, { lang: lang.value }, t('common.saved')) }, langOptions(u.lang));
  const pw = el('input', { type: 'password', autocomplete: 'new-password', minLength: 8, placeholder: t('users.new_password') });
  const self = u.name === page.user;
  return el('tr', { dataset: { name: u.name }, class: u.disabled ? 'disabled' : '' },
    el('td', { text: u.name }),
    el('td', {}, role),
    el('td', {}, lang),
    el('td', {}, el('button', { type: 'button', disabled: self, text: u.disabled ? t('users.enable') : t('users.disable'),
      onclick: () => update(u.name, { disabled: !u.disabled }, t('common.saved')) }),
    ' ', u.disabled ? el('span', { class: 'muted', text: t('users.disabled') }) : ''),
    el('td', {}, el('div', { class: 'row' }, pw, el('button', { type: 'button', text: t('users.reset'), onclick: () => {
      if (pw.value.length < 8) { flash(t('users.password_short'), 'error'); return; }
      update(u.name, { password: pw.value }, t('users.password_set'));
    } }))),
    el('td', {}, el('button', { type: 'button', class: 'danger', disabled: self, text: t('common.delete'), onclick: async () => {
      if (!window.confirm(t('users.delete_confirm', { name: u.name }))) return;
      try {
        await api('DELETE', '/api/v1/users/' + encodeURIComponent(u.name));
        load();
      } catch (e) { showError(e); }
    } })));
}

async function load() {
  try {
    const users = ((await api('GET', '/api/v1/users')) || {}).users || [];
    $('#user-table tbody').replaceChildren(...users.map(row));
  } catch (e) {
    showError(e);
  }
}

form.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const f = form.elements;
  $('#user-error').textContent = '';
  try {
    await api('POST', '/api/v1/users', {
      name: f.namedItem('name').value.trim(), role: f.namedItem('role').value,
      lang: f.namedItem('lang').value, password: f.namedItem('password').value,
    });
    form.reset();
    flash(t('common.saved'));
    load();
  } catch (e) {
    $('#user-error').textContent = e.message;
  }
});

load();
