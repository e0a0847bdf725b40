import { api, el, $, fmtTime, showError } from './common.js';

api('GET', '/api/v1/quarantine?limit=200').then((list) => {
  $('#quarantine tbody').replaceChildren(...list.map((q) => el('tr', {},
    el('td', {}, fmtTime(q.received)), el('td', {}, q.site || ''), el('td', { class: 'mono' }, q.topic),
    el('td', {}, q.seq ? String(q.seq) : ''), el('td', { class: 'error' }, q.reason), el('td', {}, String(q.bytes)))));
}).catch(showError);
