// Overview: object counts, EIDs by origin, xTR connection states, the
// controller replicas, the control-plane rates and the latest events.

import {h, replace, table, fmtNum, throttle} from '../dom.js';
import {get, total} from '../api.js';
import {stream} from '../stream.js';
import {poller, rateCards} from '../metrics.js';
import {connBadge, eventItem, pageHeader, errorBox, isChange} from './common.js';
import {mountCluster} from './cluster.js';

export const title = 'Overview';

const LATEST = 12;

function stat(id, label, value, href) {
  const v = h('span', {class: 'stat-value', id}, fmtNum(value));
  return h('a', {class: 'stat', href: href || '#/overview'}, v, h('span', {class: 'stat-label'}, label));
}

async function loadCounts() {
  const [networks, sites, xtrs, all, st, reg, learned] = await Promise.all([
    get('/networks'), get('/sites'), get('/xtrs'),
    total({}), total({origin: 'static'}), total({origin: 'registered'}), total({origin: 'learned'}),
  ]);
  return {networks, sites, xtrs, all, st, reg, learned};
}

function countsView(d) {
  return h('div', {class: 'stats', id: 'counts'},
    stat('count-networks', 'Networks', d.networks.length, '#/manage'),
    stat('count-sites', 'Sites', d.sites.length, '#/topology'),
    stat('count-xtrs', 'xTRs', d.xtrs.length, '#/manage'),
    stat('count-eids', 'EIDs', d.all, '#/mappings'),
    stat('count-static', 'Static', d.st, '#/mappings?origin=static'),
    stat('count-registered', 'Registered', d.reg, '#/mappings?origin=registered'),
    stat('count-learned', 'Learned', d.learned, '#/mappings?origin=learned'));
}

function xtrTable(xtrs) {
  const rows = xtrs.map((x) => {
    const s = x.status || {};
    return h('tr', {dataset: {key: x.name}},
      h('th', {scope: 'row'}, x.name), h('td', null, x.site), h('td', {class: 'mono'}, x.rloc),
      h('td', {class: 'mono'}, x.bridge || '–'),
      h('td', null, connBadge(s.ovsdb, 'OVSDB')), h('td', null, connBadge(s.openflow, 'OpenFlow')),
      h('td', {class: 'num'}, fmtNum(s.flows || 0)));
  });
  return table('xtrs-table', null, ['xTR', 'Site', 'RLOC', 'Bridge', 'OVSDB', 'OpenFlow', ['Flows', 'num']], rows,
    'No xTRs yet — add one on the Manage page.');
}

function latestList() {
  const evs = stream.recent.slice(-LATEST).reverse();
  const list = h('ol', {class: 'timeline compact', id: 'latest-events'}, evs.map(eventItem));
  if (!evs.length) list.append(h('li', {class: 'empty muted'}, 'No events yet.'));
  return list;
}

export function mount(root) {
  const counts = h('div', {class: 'slot'}, h('p', {class: 'muted'}, 'Loading…'));
  const xtrs = h('div', {class: 'slot'});
  const rates = h('div', {class: 'sparks', id: 'rates'});
  const latest = h('div', {class: 'slot'}, latestList());
  const replicas = h('div', {class: 'slot', id: 'replicas'}, h('p', {class: 'muted'}, 'Loading…'));
  root.append(pageHeader('Overview'),
    counts,
    h('div', {class: 'cols'},
      h('section', {class: 'card wide', 'aria-labelledby': 'xtrs-h'}, h('h2', {id: 'xtrs-h'}, 'Edge switches (xTRs)'), xtrs),
      h('section', {class: 'card', 'aria-labelledby': 'rates-h'}, h('h2', {id: 'rates-h'}, 'Control-plane rates'), rates)),
    h('section', {class: 'card', 'aria-labelledby': 'replicas-h'},
      h('h2', {id: 'replicas-h'}, 'Controller replicas'), replicas),
    h('section', {class: 'card', 'aria-labelledby': 'latest-h'},
      h('h2', {id: 'latest-h'}, 'Latest events ', h('a', {href: '#/events', class: 'small'}, 'all events →')), latest));

  let alive = true;
  let retry = 0;
  const refresh = async () => {
    clearTimeout(retry);
    try {
      const d = await loadCounts();
      if (!alive) return;
      replace(counts, countsView(d));
      replace(xtrs, xtrTable(d.xtrs));
      root.dataset.state = 'ready';
    } catch (e) {
      if (!alive) return;
      replace(counts, errorBox(e));
      // A failed load (the controller restarting, a slow moment) must not
      // leave the overview stuck on the error: try again by itself.
      retry = setTimeout(refresh, 3000);
    }
  };
  const again = throttle(refresh, 2000);
  const redrawLatest = throttle(() => replace(latest, latestList()), 300);
  const offEv = stream.on((ev) => {
    redrawLatest();
    if (isChange(ev)) again();
  });
  const offRates = poller.on((p) => replace(rates, rateCards(p)));
  replace(rates, rateCards(poller));
  refresh();
  const stopCluster = mountCluster(replicas);
  return () => {
    alive = false;
    stopCluster();
    clearTimeout(retry);
    offEv();
    offRates();
    again.cancel();
    redrawLatest.cancel();
  };
}
