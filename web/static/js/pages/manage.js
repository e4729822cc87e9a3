// Manage: the configured networks, sites, xTRs and ports, with the forms
// that change them.

import {h, replace, table, throttle, badge} from '../dom.js';
import {get, post, enc} from '../api.js';
import {stream} from '../stream.js';
import {pageHeader, errorBox, connBadge} from './common.js';
import {networkForms, siteForms, xtrForms, portForms, mappingForms} from './manageforms.js';

export const title = 'Manage';

function datalist(id, values) {
  return h('datalist', {id}, values.map(([v, label]) => h('option', {value: v, label})));
}

function networksTable(ns) {
  return table('networks-table', null, [['Instance-id', 'num'], 'Name', 'Encapsulation', 'Forwarding'],
    ns.map((n) => h('tr', {dataset: {key: n.instance_id}}, h('th', {scope: 'row', class: 'num'}, n.instance_id),
      h('td', null, n.name), h('td', {class: 'encap', dataset: {encap: n.encapsulation}}, encapLabel(n.encapsulation)),
      h('td', {class: 'mode', dataset: {mode: n.forwarding_mode}}, modeLabel(n)))),
    'No networks yet.');
}

// modeLabel says how a network's remote hosts get into the switches.
function modeLabel(n) {
  switch (n.forwarding_mode) {
    case 'on-demand': return 'on demand (map-cache)';
    case 'auto': return `auto: on demand above ${n.auto_threshold} hosts`;
  }
  return n.forwarding_mode || 'push';
}

// A site's scope is what its Map-Registers may claim: the IP prefixes,
// the MAC blocks (or any MAC) and, if set, the RLOC prefixes.
function macScope(x) {
  return x.any_mac ? 'any' : (x.mac_prefixes || []).join(', ') || 'none';
}

// encapLabel names an encapsulation with the UDP port it shows on the WAN.
function encapLabel(e) {
  return {'lisp-gpe': 'LISP-GPE (UDP 4341)', vxlan: 'VXLAN (UDP 4789)'}[e] || e || '–';
}

function sitesTable(ss) {
  return table('sites-table', null, ['Site', 'Instance-ids', 'EID prefixes', 'MAC scope', 'RLOC prefixes'],
    ss.map((x) => h('tr', {dataset: {key: x.name}}, h('th', {scope: 'row'}, x.name),
      h('td', null, (x.networks || []).join(', ') || '–'),
      h('td', {class: 'mono', dataset: {col: 'eid_prefixes'}}, (x.eid_prefixes || []).join(', ') || 'none'),
      h('td', {class: 'mono', dataset: {col: 'mac_scope'}}, macScope(x)),
      h('td', {class: 'mono', dataset: {col: 'rloc_prefixes'}}, (x.rloc_prefixes || []).join(', ') || 'any'))),
    'No sites yet.');
}

function xtrsTable(xs, ports, done) {
  return table('manage-xtrs-table', null, ['xTR', 'Site', 'RLOC', 'OVSDB', 'OpenFlow', ['Flows', 'num'], ['Map-cache', 'num'],
    'Locator', 'DF of', 'Ports', 'Maintenance'],
    xs.map((x) => h('tr', {dataset: {key: x.name}}, h('th', {scope: 'row'}, x.name), h('td', null, x.site),
      h('td', {class: 'mono'}, x.rloc), h('td', null, connBadge((x.status || {}).ovsdb, 'OVSDB')),
      h('td', null, connBadge((x.status || {}).openflow, 'OpenFlow')),
      h('td', {class: 'num', dataset: {col: 'flows'}}, (x.status || {}).flows ?? 0),
      h('td', {class: 'num', dataset: {col: 'map_cache'}}, (x.status || {}).map_cache_entries ?? 0),
      h('td', {dataset: {col: 'locator'}}, locatorBadge(x)),
      h('td', {class: 'mono', dataset: {col: 'df'}}, ((x.locator || {}).designated_forwarder || []).join(', ') || '–'),
      h('td', {class: 'mono'}, (ports[x.name] || []).map((p) => `${p.name}→${p.instance_id}`).join(', ') || '–'),
      h('td', null, drainButton(x, done)))),
    'No xTRs yet.');
}

// locatorBadge: the controller's view of the xTR's RLOC (OpenFlow and BFD),
// and whether it is drained.
function locatorBadge(x) {
  const l = x.locator || {};
  const text = (l.up === false ? 'down' : 'up') + (x.drained ? ', drained' : '');
  return badge(text, l.up === false ? 'bad' : x.drained ? 'warn' : 'good');
}

// drainButton drains an xTR before maintenance (remote sites stop sending
// to it, another xTR of its site floods) or puts it back, and says once
// every switch holds the result.
function drainButton(x, done) {
  const action = x.drained ? 'undrain' : 'drain';
  const out = h('span', {class: 'muted', role: 'status'});
  const b = h('button', {type: 'button', class: 'small', id: `xtr-${action}-${x.name}`, dataset: {action}},
    x.drained ? 'Undrain' : 'Drain');
  b.addEventListener('click', async () => {
    b.disabled = true;
    out.textContent = ' …';
    try {
      const r = await post(`/xtrs/${enc(x.name)}/${action}?wait=30s`);
      out.textContent = r.converged === false ? ' not yet on every switch' : r.converged ? ' done: every switch updated' : ' done';
      done();
    } catch (e) {
      out.textContent = ' ' + e.message;
      b.disabled = false;
    }
  });
  return [b, out];
}

function section(id, heading, list, forms) {
  return h('section', {class: 'card manage', id, 'aria-labelledby': `${id}-h`},
    h('h2', {id: `${id}-h`}, heading), list, h('div', {class: 'form-grid'}, forms));
}

async function loadAll() {
  const [networks, sites, xtrs] = await Promise.all([get('/networks'), get('/sites'), get('/xtrs')]);
  const lists = await Promise.all(xtrs.map((x) => get(`/xtrs/${enc(x.name)}/ports`).catch(() => [])));
  const ports = Object.fromEntries(xtrs.map((x, i) => [x.name, lists[i]]));
  return {networks, sites, xtrs, ports};
}

export function mount(root) {
  const slots = {nets: h('div', {class: 'slot'}), sites: h('div', {class: 'slot'}), xtrs: h('div', {class: 'slot'})};
  const lists = h('div', {id: 'datalists'});
  let alive = true;
  const refresh = async () => {
    try {
      const d = await loadAll();
      if (!alive) return;
      replace(slots.nets, networksTable(d.networks));
      replace(slots.sites, sitesTable(d.sites));
      replace(slots.xtrs, xtrsTable(d.xtrs, d.ports, () => refresh()));
      replace(lists, datalist('dl-networks', d.networks.map((n) => [n.instance_id, n.name])),
        datalist('dl-sites', d.sites.map((x) => [x.name, x.name])), datalist('dl-xtrs', d.xtrs.map((x) => [x.name, x.site])));
      root.dataset.state = 'ready';
    } catch (e) {
      if (alive) replace(slots.nets, errorBox(e));
    }
  };
  const again = throttle(refresh, 1000);
  const done = () => refresh();
  root.append(pageHeader('Manage'), lists,
    section('manage-networks', 'Networks', slots.nets, networkForms(done)),
    section('manage-sites', 'Sites', slots.sites, siteForms(done)),
    section('manage-xtrs', 'xTRs and ports', slots.xtrs, [...xtrForms(done), ...portForms(done)]),
    section('manage-mappings', 'Static mappings and duplicates',
      h('p', {class: 'muted'}, 'Browse mappings on the ', h('a', {href: '#/mappings'}, 'Mappings'), ' page.'),
      mappingForms(done)));
  const off = stream.on((ev) => { if (/^(network|site|xtr|port|bfd)\./.test(ev.type)) again(); });
  refresh();
  return () => { alive = false; off(); again.cancel(); };
}
