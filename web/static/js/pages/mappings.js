// Mappings: the EID table, filtered and paginated by the server (limit and
// offset), so it stays quick with any number of EIDs. It refreshes the
// current page when the event stream reports a change it may show.

import {h, replace, table, fmtNum, fmtTime, throttle, debounce, badge} from '../dom.js';
import {get, qs} from '../api.js';
import {stream} from '../stream.js';
import {pageHeader, errorBox} from './common.js';

export const title = 'Mappings';

const SIZES = [25, 50, 100, 250];

export function hostHref(r) {
  return `#/host?iid=${r.instance_id}&eid=${encodeURIComponent(r.eid)}`;
}

function select(id, label, options, value) {
  return h('div', {class: 'field'}, h('label', {for: id}, label),
    h('select', {id}, options.map(([v, t]) => h('option', {value: v, selected: String(v) === String(value)}, t))));
}

function filterForm(st, networks, sites) {
  return h('form', {id: 'mappings-filter', class: 'filters', role: 'search', 'aria-label': 'Filter mappings'},
    select('f-iid', 'Network', [['', 'All networks'], ...networks.map((n) => [n.instance_id, `${n.instance_id} · ${n.name}`])], st.iid),
    select('f-site', 'Site', [['', 'All sites'], ...sites.map((x) => [x.name, x.name])], st.site),
    select('f-origin', 'Origin', [['', 'Any origin'], ['static', 'static'], ['registered', 'registered'], ['learned', 'learned']], st.origin),
    h('div', {class: 'field grow'}, h('label', {for: 'f-q'}, 'EID contains'),
      h('input', {id: 'f-q', type: 'search', value: st.q, placeholder: 'MAC, IP or part of one', autocomplete: 'off'})),
    select('f-limit', 'Per page', SIZES.map((n) => [n, n]), st.limit),
    h('div', {class: 'field check'}, h('input', {id: 'f-live', type: 'checkbox', checked: st.live}),
      h('label', {for: 'f-live'}, 'Live updates')));
}

function rlocText(r) {
  return (r.rlocs || []).map((l) => `${l.address}${l.up === false ? ' (down)' : ''}`).join(', ') || '–';
}

function rows(items) {
  return items.map((r) => {
    const href = hostHref(r);
    const tr = h('tr', {class: 'clickable', dataset: {eid: r.eid, iid: r.instance_id, href}},
      h('th', {scope: 'row', class: 'mono'}, h('a', {href}, r.eid)),
      h('td', {class: 'num'}, r.instance_id), h('td', null, r.family),
      h('td', null, badge(r.origin, r.origin), r.frozen ? [' ', badge('duplicate', 'bad')] : null), h('td', null, r.site),
      h('td', {class: 'mono'}, [r.xtr, r.port].filter(Boolean).join('/') || '–'),
      h('td', {class: 'mono'}, rlocText(r)), h('td', {class: 'num'}, r.version),
      h('td', null, fmtTime(r.updated_at)));
    return tr;
  });
}

function pager(st, page) {
  const from = page.total ? page.offset + 1 : 0;
  const to = page.offset + page.items.length;
  const last = Math.max(0, Math.floor((page.total - 1) / st.limit) * st.limit);
  const btn = (id, text, off, disabled) => h('button', {id, type: 'button', class: 'ghost', disabled,
    dataset: {offset: off}}, text);
  return h('nav', {class: 'pager', 'aria-label': 'Pages'},
    btn('page-first', '« First', 0, st.offset === 0),
    btn('page-prev', '‹ Prev', Math.max(0, st.offset - st.limit), st.offset === 0),
    h('span', {id: 'page-info', role: 'status'}, `${fmtNum(from)}–${fmtNum(to)} of ${fmtNum(page.total)}`),
    btn('page-next', 'Next ›', st.offset + st.limit, to >= page.total),
    btn('page-last', 'Last »', last, to >= page.total));
}

function readState(params) {
  return {iid: params.get('iid') || '', site: params.get('site') || '', origin: params.get('origin') || '',
    q: params.get('q') || '', limit: SIZES.includes(Number(params.get('limit'))) ? Number(params.get('limit')) : 50,
    offset: Math.max(0, Number(params.get('offset')) || 0), live: params.get('live') !== '0'};
}

// matches says whether an event may change the page shown: a cheap test
// that errs towards refreshing.
function matches(st, ev) {
  if (!ev.type.startsWith('mapping.')) return false;
  const d = ev.data || {};
  if (st.iid !== '' && String(ev.instance_id ?? d.instance_id) !== st.iid) return false;
  if (st.site && ev.type !== 'mapping.moved' && (ev.site || d.site) !== st.site) return false;
  if (st.origin && d.origin && d.origin !== st.origin) return false;
  if (st.q && !(ev.eid || d.eid || '').toLowerCase().includes(st.q.toLowerCase())) return false;
  return true;
}

export function mount(root, params) {
  const st = readState(params);
  const filters = h('div', {class: 'slot'});
  const body = h('div', {class: 'slot', id: 'mappings-body'}, h('p', {class: 'muted'}, 'Loading…'));
  const pagerSlot = h('div', {class: 'slot'});
  root.append(pageHeader('Mappings'), h('div', {class: 'card'}, filters, pagerSlot, body));
  let alive = true;
  let seq = 0;
  let ctl = null;

  const load = async () => {
    const my = ++seq;
    if (ctl) ctl.abort();
    ctl = new AbortController();
    body.dataset.state = 'loading';
    const q = {instance_id: st.iid, site: st.site, origin: st.origin, q: st.q, limit: st.limit, offset: st.offset};
    try {
      const page = await get('/mappings' + qs(q), {signal: ctl.signal});
      if (!alive || my !== seq) return;
      replace(body, table('mappings-table', null, ['EID', ['IID', 'num'], 'Family', 'Origin', 'Site', 'xTR/port', 'RLOCs', ['Ver.', 'num'], 'Updated'],
        rows(page.items), 'No mappings match.'));
      replace(pagerSlot, pager(st, page));
      body.dataset.state = 'ready';
      root.dataset.state = 'ready';
    } catch (e) {
      if (e.name !== 'AbortError' && alive && my === seq) {
        replace(body, errorBox(e));
        body.dataset.state = 'error';
      }
    }
  };
  const saveHash = () => {
    const p = qs({iid: st.iid, site: st.site, origin: st.origin, q: st.q, limit: st.limit === 50 ? '' : st.limit,
      offset: st.offset || '', live: st.live ? '' : '0'});
    history.replaceState(null, '', '#/mappings' + p);
  };
  const changed = () => { st.offset = 0; saveHash(); load(); };
  const typed = debounce(changed, 300);
  const live = throttle(load, 1000);

  root.addEventListener('change', (ev) => {
    const t = ev.target;
    if (t.id === 'f-iid') st.iid = t.value;
    else if (t.id === 'f-site') st.site = t.value;
    else if (t.id === 'f-origin') st.origin = t.value;
    else if (t.id === 'f-limit') st.limit = Number(t.value);
    else if (t.id === 'f-live') { st.live = t.checked; saveHash(); return; } else return;
    changed();
  });
  root.addEventListener('input', (ev) => {
    if (ev.target.id === 'f-q') { st.q = ev.target.value.trim(); typed(); }
  });
  root.addEventListener('submit', (ev) => ev.preventDefault());
  root.addEventListener('click', (ev) => {
    const b = ev.target.closest('.pager button');
    if (b) { st.offset = Number(b.dataset.offset); saveHash(); load(); return; }
    const tr = ev.target.closest('tr.clickable');
    if (tr && !ev.target.closest('a')) location.hash = tr.dataset.href;
  });
  const off = stream.on((ev) => { if (st.live && matches(st, ev)) live(); });

  Promise.all([get('/networks'), get('/sites')])
    .then(([n, s]) => alive && replace(filters, filterForm(st, n, s)))
    .catch((e) => alive && replace(filters, errorBox(e)));
  load();
  return () => {
    alive = false;
    off();
    live.cancel();
    typed.cancel();
    if (ctl) ctl.abort();
  };
}
