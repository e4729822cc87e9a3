// Subscriptions: the LISP routers subscribed to EID-prefixes (RFC 9437
// publish/subscribe). The Map-Server pushes each of them a Map-Notify when
// a mapping it covers changes. Paginated by the server; refreshed when the
// event stream reports a subscription change.

import {h, replace, table, fmtNum, fmtTime, ago, throttle} from '../dom.js';
import {get, qs} from '../api.js';
import {stream} from '../stream.js';
import {pageHeader, errorBox} from './common.js';

export const title = 'Subscriptions';

const LIMIT = 100;

function notifyTo(s) {
  return (s.itr_rlocs || []).map((a) => `${a.includes(':') ? `[${a}]` : a}:${s.port}`).join(', ') || '–';
}

function rows(items) {
  return items.map((s) => h('tr', {dataset: {eid: s.eid, xtrId: s.xtr_id}},
    h('th', {scope: 'row', class: 'mono'}, s.eid), h('td', {class: 'num'}, s.instance_id),
    h('td', {class: 'mono', title: `site-ID ${s.site_id}`}, s.xtr_id), h('td', null, s.site),
    h('td', {class: 'mono'}, notifyTo(s)), h('td', {class: 'num'}, `${fmtNum(s.ttl)} min`),
    h('td', {title: fmtTime(s.refreshed_at)}, ago(s.refreshed_at) || '–'),
    h('td', null, fmtTime(s.expires_at))));
}

export function mount(root, params) {
  let offset = Math.max(0, Number(params.get('offset')) || 0);
  const info = h('p', {class: 'muted', id: 'subscriptions-info'},
    'LISP routers that asked, with the N bit of a Map-Request (RFC 9437), to be told of every change of an EID-prefix. ' +
    'Each change reaches them as a Map-Notify signed with their site\'s key and sent again until acknowledged.');
  const body = h('div', {class: 'slot', id: 'subscriptions-body'}, h('p', {class: 'muted'}, 'Loading…'));
  const pagerSlot = h('div', {class: 'slot'});
  root.append(pageHeader('Subscriptions'), h('div', {class: 'card'}, info, pagerSlot, body));
  let alive = true;
  let ctl = null;

  const load = async () => {
    if (ctl) ctl.abort();
    ctl = new AbortController();
    body.dataset.state = 'loading';
    try {
      const page = await get('/subscriptions' + qs({limit: LIMIT, offset}), {signal: ctl.signal});
      if (!alive) return;
      replace(body, table('subscriptions-table', null,
        ['EID-prefix', ['IID', 'num'], 'xTR-ID', 'Site', 'Notifies go to', ['TTL', 'num'], 'Refreshed', 'Expires'],
        rows(page.items), 'No LISP router has subscribed yet.'));
      const to = page.offset + page.items.length;
      replace(pagerSlot, h('nav', {class: 'pager', 'aria-label': 'Pages'},
        h('button', {id: 'sub-prev', type: 'button', class: 'ghost', disabled: offset === 0}, '‹ Prev'),
        h('span', {id: 'sub-page-info', role: 'status'}, `${fmtNum(page.total ? page.offset + 1 : 0)}–${fmtNum(to)} of ${fmtNum(page.total)}`),
        h('button', {id: 'sub-next', type: 'button', class: 'ghost', disabled: to >= page.total}, 'Next ›')));
      body.dataset.state = 'ready';
      root.dataset.state = 'ready';
    } catch (e) {
      if (e.name !== 'AbortError' && alive) {
        replace(body, errorBox(e));
        body.dataset.state = 'error';
      }
    }
  };
  const live = throttle(load, 1000);
  root.addEventListener('click', (ev) => {
    const b = ev.target.closest('.pager button');
    if (!b) return;
    offset = b.id === 'sub-next' ? offset + LIMIT : Math.max(0, offset - LIMIT);
    history.replaceState(null, '', '#/subscriptions' + qs({offset: offset || ''}));
    load();
  });
  const off = stream.on((ev) => { if (ev.type.startsWith('subscription.')) live(); });
  load();
  return () => {
    alive = false;
    off();
    live.cancel();
    if (ctl) ctl.abort();
  };
}
