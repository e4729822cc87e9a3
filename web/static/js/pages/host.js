// Host: one EID's current locator set and its history of locations.

import {h, replace, table, fmtTime, throttle, badge} from '../dom.js';
import {get, qs, del, post, ApiError} from '../api.js';
import {stream} from '../stream.js';
import {describe, kindOf} from '../describe.js';
import {pageHeader, errorBox} from './common.js';

export const title = 'Host';

// findRecord reads the exact EID: q is a substring match, so pick it out.
async function findRecord(iid, eid) {
  const page = await get('/mappings' + qs({instance_id: iid, q: eid, limit: 100}));
  const want = eid.toLowerCase();
  return page.items.find((r) => r.eid.toLowerCase() === want) || null;
}

function summary(r) {
  const row = (k, v) => [h('dt', null, k), h('dd', null, v === undefined || v === '' ? '–' : v)];
  return h('dl', {class: 'facts', id: 'host-facts'},
    row('EID', h('span', {class: 'mono'}, r.eid)), row('Instance-id', String(r.instance_id)),
    row('Family', r.family), row('Origin', badge(r.origin, r.origin)),
    row('Duplicate', r.frozen ? badge('frozen: moves ignored until cleared', 'bad') : 'no'),
    row('Site', r.site), r.mac ? row('MAC', h('span', {class: 'mono'}, r.mac)) : null,
    row('xTR', r.xtr), row('Port', r.port), row('TTL', `${r.ttl} min`), row('Version', String(r.version)),
    row('Updated', fmtTime(r.updated_at)));
}

function locators(r) {
  const rows = (r.rlocs || []).map((l) => h('tr', {dataset: {rloc: l.address}},
    h('th', {scope: 'row', class: 'mono'}, l.address), h('td', {class: 'num'}, l.priority),
    h('td', {class: 'num'}, l.weight), h('td', null, badge(l.up === false ? 'down' : 'up', l.up === false ? 'bad' : 'good'))));
  return table('locators-table', 'Locator set', ['RLOC', ['Priority', 'num'], ['Weight', 'num'], 'State'], rows, 'No locators.');
}

// history lists the EID's events newest first, marking each change of site.
function history(evs) {
  let prevSite = null;
  const items = evs.map((ev) => {
    const d = ev.data || {};
    const site = ev.site || d.site || '';
    const relocated = prevSite !== null && site && site !== prevSite;
    if (site) prevSite = site;
    return h('li', {class: `event ${relocated ? 'info' : kindOf(ev.type)}`,
      dataset: {type: ev.type, id: ev.id, site}},
    h('time', {datetime: ev.time}, fmtTime(ev.time)),
    h('span', {class: 'ev-type'}, ev.type),
    h('span', {class: 'ev-text'}, describe(ev)));
  }).reverse();
  const list = h('ol', {class: 'timeline', id: 'history-list'}, items);
  if (!items.length) list.append(h('li', {class: 'empty muted'}, 'No history recorded.'));
  return list;
}

function actions(iid, eid, reload) {
  const msg = h('p', {id: 'host-action-msg', role: 'alert', class: 'form-error'});
  const run = async (fn, ok) => {
    msg.textContent = '';
    msg.className = 'form-error';
    try {
      await fn();
      msg.className = 'form-ok';
      msg.textContent = ok;
      reload();
    } catch (e) {
      msg.textContent = e instanceof ApiError ? `${e.message}${e.field ? ` (field: ${e.field})` : ''}` : String(e);
    }
  };
  const delBtn = h('button', {id: 'host-delete', type: 'button', class: 'danger'}, 'Delete mapping');
  delBtn.addEventListener('click', () => {
    if (delBtn.dataset.armed !== 'true') {
      delBtn.dataset.armed = 'true';
      delBtn.textContent = 'Click again to delete';
      return;
    }
    delBtn.dataset.armed = '';
    delBtn.textContent = 'Delete mapping';
    run(() => del('/mappings' + qs({instance_id: iid, eid})), 'Mapping deleted.');
  });
  const clearBtn = h('button', {id: 'host-clear-dup', type: 'button', class: 'ghost'}, 'Clear duplicate flag');
  clearBtn.addEventListener('click', () =>
    run(() => post('/mappings/duplicates/clear' + qs({instance_id: iid, eid})), 'Duplicate flag cleared.'));
  return h('div', {class: 'host-actions'}, clearBtn, delBtn, msg);
}

export function mount(root, params) {
  const iid = params.get('iid') || '';
  const eid = params.get('eid') || '';
  const cur = h('div', {class: 'slot', id: 'host-current'}, h('p', {class: 'muted'}, 'Loading…'));
  const hist = h('div', {class: 'slot'});
  let alive = true;
  const load = async () => {
    try {
      const [rec, evs] = await Promise.all([findRecord(iid, eid), get('/mappings/history' + qs({instance_id: iid, eid}))]);
      if (!alive) return;
      replace(cur, rec ? h('div', {class: 'cols'}, summary(rec), locators(rec))
        : h('p', {class: 'muted', id: 'host-gone'}, 'No current mapping: the host is unknown or was withdrawn.'));
      replace(hist, history(evs || []));
      root.dataset.state = 'ready';
    } catch (e) {
      if (alive) replace(cur, errorBox(e));
    }
  };
  const again = throttle(load, 500);
  root.append(pageHeader(`Host ${eid}`, h('a', {href: '#/mappings', class: 'small'}, '← all mappings')),
    h('p', {class: 'muted'}, `Instance-id ${iid}`),
    h('section', {class: 'card', 'aria-labelledby': 'cur-h'}, h('h2', {id: 'cur-h'}, 'Current location'), cur,
      actions(iid, eid, again)),
    h('section', {class: 'card', 'aria-labelledby': 'hist-h'}, h('h2', {id: 'hist-h'}, 'History of locations'), hist));
  const off = stream.on((ev) => {
    if (String(ev.instance_id) === iid && (ev.eid || '').toLowerCase() === eid.toLowerCase()) again();
  });
  load();
  return () => { alive = false; off(); again.cancel(); };
}
