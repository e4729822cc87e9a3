// Pieces shared by several pages.

import {h, badge, ago, fmtClock, fmtTime} from '../dom.js';
import {describe, kindOf} from '../describe.js';

// connBadge shows one connection of an xTR (OVSDB or OpenFlow).
export function connBadge(c, what) {
  const st = c || {};
  const since = ago(st.since);
  const el = h('span', {class: 'conn', dataset: {connected: st.connected ? 'true' : 'false'}},
    badge(st.connected ? 'up' : 'down', st.connected ? 'good' : 'bad'),
    since ? h('small', {class: 'muted'}, ` ${st.connected ? 'since' : 'for'} ${since}`) : null,
    st.connected && st.role && st.role !== 'equal' ? h('small', {class: 'muted conn-role'}, ` as ${st.role}`) : null);
  if (st.last_error) el.append(h('small', {class: 'conn-err'}, st.last_error));
  el.title = `${what}: ${st.connected ? 'connected' : 'not connected'}${st.last_error ? ' — ' + st.last_error : ''}`;
  return el;
}

// xtrHealth is good when both connections are up, bad when none is.
export function xtrHealth(x) {
  const s = x.status || {};
  const n = (s.ovsdb && s.ovsdb.connected ? 1 : 0) + (s.openflow && s.openflow.connected ? 1 : 0);
  return n === 2 ? 'good' : n === 1 ? 'warn' : 'bad';
}

// eventItem renders one event of a timeline.
export function eventItem(ev) {
  const kind = kindOf(ev.type);
  const hostLink = ev.eid && ev.instance_id !== undefined && ev.instance_id !== null && ev.type.startsWith('mapping.')
    ? h('a', {href: `#/host?iid=${ev.instance_id}&eid=${encodeURIComponent(ev.eid)}`, class: 'ev-link'}, 'history')
    : null;
  return h('li', {class: `event ${kind}`, dataset: {type: ev.type, id: ev.id, eid: ev.eid || '', actor: ev.actor || ''}},
    h('time', {datetime: ev.time, title: fmtTime(ev.time)}, fmtClock(ev.time)),
    h('span', {class: 'ev-type'}, ev.type),
    h('span', {class: 'ev-text'}, describe(ev), hostLink ? ' ' : null, hostLink,
      ev.actor ? h('span', {class: 'ev-actor', title: 'who made this change'}, `by ${ev.actor}`) : null));
}

// pageHeader is the title row of a page, with optional actions.
export function pageHeader(title, ...actions) {
  return h('header', {class: 'page-head'}, h('h1', null, title), h('div', {class: 'page-actions'}, actions));
}

export function errorBox(e) {
  return h('p', {class: 'form-error', role: 'alert'}, e && e.message ? e.message : String(e));
}

// mappingEvent says whether an event may change the mapping list.
export function isChange(ev) {
  return /^(network|site|xtr|port|mapping)\./.test(ev.type);
}
