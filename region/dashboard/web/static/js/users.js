import { api, t, el, $, showError } from './common.js';

api('GET', '/api/v1/users').then((list) => {
  $('#users tbody').replaceChildren(...list.map((u) => el('tr', { class: u.disabled ? 'disabled' : '' },
    el('td', {}, u.name), el('td', {}, t('role.' + u.role)), el('td', {}, u.lang.toUpperCase()),
    el('td', {}, u.disabled ? t('users.disabled') : t('users.enabled')))));
}).catch(showError);
