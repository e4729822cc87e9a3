// Tokens: the API tokens, who made them and when they were last used, with
// the forms that create (showing the secret once) and revoke them. Only an
// admin token may see this page's data; others get the API's own refusal.

import {h, replace, table, badge, fmtTime, throttle} from '../dom.js';
import {get, post, del, enc, ApiError} from '../api.js';
import {apiForm} from '../forms.js';
import {stream} from '../stream.js';
import {pageHeader, errorBox} from './common.js';

export const title = 'Tokens';

const ROLES = [
  {value: 'viewer', label: 'viewer (read only)'},
  {value: 'operator', label: 'operator (configuration)'},
  {value: 'admin', label: 'admin (also tokens)'},
];

function tokensTable(ts) {
  return table('tokens-table', null, ['Name', 'Role', 'Created', 'Created by', 'Last used'],
    ts.map((t) => h('tr', {dataset: {key: t.name, role: t.role}},
      h('th', {scope: 'row'}, t.name, t.bootstrap ? ' ' : null, t.bootstrap ? badge('flag', 'info') : null),
      h('td', null, t.role), h('td', null, fmtTime(t.created_at)), h('td', null, t.created_by || '–'),
      h('td', null, t.bootstrap ? '–' : t.last_used_at ? fmtTime(t.last_used_at) : 'never'))),
    'No tokens.');
}

// secretBox shows a new token's secret: the only time anyone sees it.
function secretBox(t) {
  const field = h('input', {id: 'token-secret', class: 'mono', readonly: true, value: t.secret,
    'aria-label': `Secret of token ${t.name}`, size: Math.min(t.secret.length, 60)});
  return h('div', {class: 'secret-box', role: 'status'},
    h('p', null, h('strong', null, `Token ${t.name} (${t.role}) created.`),
      ' Copy its secret now: it is shown only this once and cannot be recovered.'),
    field);
}

function forms(done, shown) {
  return [
    apiForm({id: 'token-add', title: 'Create a token', button: 'Create token', onDone: done,
      fields: [{name: 'name', label: 'Name', required: true, placeholder: 'ci-pipeline'},
        {name: 'role', label: 'Role', type: 'select', options: ROLES}],
      submit: async (v) => {
        const t = await post('/tokens', {name: v.name, role: v.role});
        replace(shown, secretBox(t));
        return `Token ${t.name} created.`;
      }}),
    apiForm({id: 'token-revoke', title: 'Revoke a token', button: 'Revoke token', danger: true, onDone: done,
      fields: [{name: 'name', label: 'Name', required: true, list: 'dl-tokens'}],
      submit: async (v) => {
        if (!v.name) throw new ApiError(0, 'client', 'name is required', 'name');
        await del(`/tokens/${enc(v.name)}`);
        replace(shown);
        return `Token ${v.name} revoked: every replica refuses it now.`;
      }}),
  ];
}

export function mount(root) {
  const slot = h('div', {class: 'slot'});
  const shown = h('div', {id: 'token-created'});
  const names = h('datalist', {id: 'dl-tokens'});
  let alive = true;
  const refresh = async () => {
    try {
      const ts = await get('/tokens');
      if (!alive) return;
      replace(slot, tokensTable(ts));
      replace(names, ts.filter((t) => !t.bootstrap).map((t) => h('option', {value: t.name, label: t.role})));
      root.dataset.state = 'ready';
    } catch (e) {
      if (!alive) return;
      replace(slot, errorBox(e));
      root.dataset.state = e instanceof ApiError && e.status === 403 ? 'forbidden' : 'error';
    }
  };
  const again = throttle(refresh, 1000);
  root.append(pageHeader('API tokens'), names,
    h('section', {class: 'card manage', 'aria-labelledby': 'tokens-h'},
      h('h2', {id: 'tokens-h'}, 'Tokens'),
      h('p', {class: 'muted'}, 'Only hashes of the secrets are kept. Every change made with a token is recorded ' +
        'under its name in the events.'),
      slot, shown, h('div', {class: 'form-grid'}, forms(() => refresh(), shown))));
  const off = stream.on((ev) => { if (ev.type.startsWith('token.')) again(); });
  refresh();
  return () => { alive = false; off(); again.cancel(); };
}
