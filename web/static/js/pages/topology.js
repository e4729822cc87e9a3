// Topology: sites on a circle, a tunnel between every two sites that share
// an instance-id, coloured by the connection state of their xTRs, with the
// number of hosts (MAC EIDs) at each site. It follows the event stream.

import {h, s, replace, table, fmtNum, throttle} from '../dom.js';
import {get, qs} from '../api.js';
import {stream} from '../stream.js';
import {pageHeader, errorBox, xtrHealth} from './common.js';

export const title = 'Topology';

const W = 820;
const H = 560;
const NODE = 38;
const rank = {none: 0, bad: 1, warn: 2, good: 3};

// siteHealth folds the states of a site's xTRs: none when it has no xTR.
function siteHealth(xtrs) {
  if (!xtrs.length) return 'none';
  const hs = xtrs.map(xtrHealth);
  if (hs.every((x) => x === 'good')) return 'good';
  if (hs.every((x) => x === 'bad')) return 'bad';
  return 'warn';
}

function layout(sites) {
  const n = sites.length;
  const r = n <= 1 ? 0 : Math.min(W, H) / 2 - NODE - 48;
  return sites.map((site, i) => {
    const a = -Math.PI / 2 + (2 * Math.PI * i) / Math.max(n, 1);
    return {site, x: W / 2 + r * Math.cos(a), y: H / 2 + r * Math.sin(a)};
  });
}

function links(nodes) {
  const out = [];
  for (let i = 0; i < nodes.length; i++) {
    for (let j = i + 1; j < nodes.length; j++) {
      const a = nodes[i];
      const b = nodes[j];
      const shared = (a.site.networks || []).filter((x) => (b.site.networks || []).includes(x));
      if (shared.length) out.push({a, b, shared});
    }
  }
  return out;
}

function linkEl(l, health) {
  const st = rank[health[l.a.site.name]] < rank[health[l.b.site.name]] ? health[l.a.site.name] : health[l.b.site.name];
  const mx = (l.a.x + l.b.x) / 2;
  const my = (l.a.y + l.b.y) / 2;
  const label = `IID ${l.shared.join(', ')}`;
  return s('g', {class: `link ${st}`, dataset: {a: l.a.site.name, b: l.b.site.name, state: st}},
    s('title', null, `Tunnel ${l.a.site.name} ↔ ${l.b.site.name}: ${label} (${st === 'none' ? 'no xTR' : st})`),
    s('line', {x1: l.a.x, y1: l.a.y, x2: l.b.x, y2: l.b.y}),
    s('text', {x: mx, y: my - 6, class: 'link-label', 'text-anchor': 'middle'}, label));
}

function nodeEl(n, st, xtrs, hosts) {
  const hostText = hosts === undefined ? '… hosts'
    : `${hosts.partial ? '≥' : ''}${fmtNum(hosts.n)} host${hosts.n === 1 && !hosts.partial ? '' : 's'}`;
  return s('g', {class: `node ${st}`, dataset: {site: n.site.name, state: st}, transform: `translate(${n.x},${n.y})`},
    s('title', null, `Site ${n.site.name}: ${xtrs.length} xTRs, ${hostText}, networks ${(n.site.networks || []).join(', ') || 'none'}`),
    s('circle', {r: NODE}),
    s('text', {class: 'node-name', y: -4, 'text-anchor': 'middle'}, n.site.name),
    s('text', {class: 'node-sub', y: 12, 'text-anchor': 'middle'}, `${xtrs.length} xTR${xtrs.length === 1 ? '' : 's'}`),
    s('text', {class: 'node-hosts', y: NODE + 22, 'text-anchor': 'middle'}, hostText));
}

function legend() {
  const items = [['good', 'all connections up'], ['warn', 'partly connected'], ['bad', 'disconnected'], ['none', 'no xTR']];
  return h('ul', {class: 'legend', 'aria-label': 'Legend'},
    items.map(([k, t]) => h('li', null, h('span', {class: `swatch ${k}`, 'aria-hidden': 'true'}), t)));
}

function draw(d) {
  const bySite = {};
  for (const x of d.xtrs) (bySite[x.site] = bySite[x.site] || []).push(x);
  const health = {};
  for (const site of d.sites) health[site.name] = siteHealth(bySite[site.name] || []);
  const nodes = layout(d.sites);
  const svg = s('svg', {id: 'topology-svg', viewBox: `0 0 ${W} ${H}`, role: 'img',
    'aria-label': `${d.sites.length} sites and their tunnels`},
  s('g', {class: 'links'}, links(nodes).map((l) => linkEl(l, health))),
  s('g', {class: 'nodes'}, nodes.map((n) => nodeEl(n, health[n.site.name], bySite[n.site.name] || [], d.hosts[n.site.name]))));
  if (!d.sites.length) svg.append(s('text', {x: W / 2, y: H / 2, 'text-anchor': 'middle', class: 'muted-text'}, 'No sites yet'));
  return svg;
}

function siteTable(d) {
  const rows = d.sites.map((site) => {
    const hs = d.hosts[site.name];
    const xs = d.xtrs.filter((x) => x.site === site.name);
    return h('tr', {dataset: {key: site.name}}, h('th', {scope: 'row'}, site.name),
      h('td', null, (site.networks || []).join(', ') || '–'),
      h('td', null, xs.map((x) => x.name).join(', ') || '–'),
      h('td', {class: 'num'}, hs ? `${hs.partial ? '≥' : ''}${fmtNum(hs.n)}` : '…'),
      h('td', {class: 'num'}, hs ? fmtNum(hs.total) : '…'));
  });
  return table('topology-table', 'Sites', ['Site', 'Networks', 'xTRs', ['Hosts (MAC)', 'num'], ['EIDs', 'num']], rows, 'No sites yet.');
}

async function countHosts(site) {
  const [macs, all] = await Promise.all([
    get('/mappings' + qs({site, family: 'mac', limit: 1})),
    get('/mappings' + qs({site, limit: 1})),
  ]);
  return {n: macs.total, total: all.total, partial: false};
}

export function mount(root) {
  const pic = h('div', {class: 'topology', id: 'topology'}, h('p', {class: 'muted'}, 'Loading…'));
  const side = h('div', {class: 'slot'});
  root.append(pageHeader('Topology', legend()), h('div', {class: 'card'}, pic), h('div', {class: 'card'}, side));
  const d = {sites: [], xtrs: [], hosts: {}};
  let alive = true;
  const render = () => {
    replace(pic, draw(d));
    replace(side, siteTable(d));
  };
  const loadHosts = async () => {
    const counts = await Promise.all(d.sites.map((x) => countHosts(x.name)));
    if (!alive) return;
    d.sites.forEach((x, i) => { d.hosts[x.name] = counts[i]; });
    render();
    root.dataset.state = 'ready';
  };
  const loadObjects = async () => {
    try {
      [d.sites, d.xtrs] = await Promise.all([get('/sites'), get('/xtrs')]);
      if (!alive) return;
      render();
      await loadHosts();
    } catch (e) {
      if (alive) replace(pic, errorBox(e));
    }
  };
  const objects = throttle(loadObjects, 1500);
  const hosts = throttle(() => loadHosts().catch((e) => alive && replace(side, errorBox(e))), 3000);
  const off = stream.on((ev) => {
    if (/^(site|xtr|network)\./.test(ev.type)) objects();
    else if (ev.type.startsWith('mapping.')) hosts();
  });
  loadObjects();
  return () => {
    alive = false;
    off();
    objects.cancel();
    hosts.cancel();
  };
}
