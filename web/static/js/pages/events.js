// Events: the live timeline of the change feed. Every type is shown; the
// known ones in words, the others by type and subject.

import {h, replace} from '../dom.js';
import {stream} from '../stream.js';
import {describe} from '../describe.js';
import {eventItem, pageHeader} from './common.js';

export const title = 'Events';

const MAX = 500;
const GROUPS = [
  ['', 'All events'],
  ['mapping.', 'Mappings (learns, moves, withdrawals)'],
  ['mapping.moved', 'Moves'],
  ['mapping.converged', 'Convergence of moves'],
  ['alerts', 'Alerts (refused, duplicates, xTR down)'],
  ['xtr.', 'xTRs'],
  ['subscription.', 'Subscriptions (publish/subscribe)'],
  ['objects', 'Configuration (networks, sites, ports)'],
  ['token.', 'API tokens'],
];
const ALERTS = new Set(['registration.refused', 'openflow.refused', 'mapping.duplicate', 'xtr.down', 'learn.limit',
  'feed.truncated', 'subscription.refused', 'map-notify.unacknowledged']);

function wanted(f, ev) {
  if (f.group === 'alerts' && !ALERTS.has(ev.type)) return false;
  if (f.group === 'objects' && !/^(network|site|port)\./.test(ev.type)) return false;
  if (f.group && !['alerts', 'objects'].includes(f.group) && !ev.type.startsWith(f.group)) return false;
  if (f.text) {
    const hay = `${ev.type} ${describe(ev)} ${ev.eid || ''} ${ev.site || ''} ${ev.xtr || ''} ${ev.actor ? 'by ' + ev.actor : ''}`.toLowerCase();
    if (!hay.includes(f.text)) return false;
  }
  return true;
}

function controls() {
  return h('form', {class: 'filters', id: 'events-filter', 'aria-label': 'Filter events'},
    h('div', {class: 'field'}, h('label', {for: 'ev-group'}, 'Show'),
      h('select', {id: 'ev-group'}, GROUPS.map(([v, t]) => h('option', {value: v}, t)))),
    h('div', {class: 'field grow'}, h('label', {for: 'ev-text'}, 'Containing'),
      h('input', {id: 'ev-text', type: 'search', placeholder: 'EID, site, xTR, who…', autocomplete: 'off'})),
    h('div', {class: 'field check'}, h('input', {id: 'ev-pause', type: 'checkbox'}),
      h('label', {for: 'ev-pause'}, 'Pause')),
    h('button', {id: 'ev-clear', type: 'button', class: 'ghost'}, 'Clear'));
}

export function mount(root) {
  const f = {group: '', text: '', paused: false};
  const list = h('ol', {class: 'timeline', id: 'events-list', 'aria-live': 'polite', 'aria-relevant': 'additions'});
  const count = h('span', {id: 'events-count', class: 'muted'});
  let shown = 0;
  let skipped = 0;
  let floor = 0; // events up to this id were cleared by the user

  const status = () => {
    count.textContent = `${shown} shown${skipped ? `, ${skipped} arrived while paused` : ''}`;
  };
  const rebuild = () => {
    const evs = stream.recent.filter((ev) => ev.id > floor && wanted(f, ev)).slice(-MAX).reverse();
    replace(list, evs.map(eventItem));
    shown = evs.length;
    if (!shown) list.append(h('li', {class: 'empty muted'}, 'Waiting for events…'));
    status();
  };
  const add = (ev) => {
    if (f.paused) { skipped++; status(); return; }
    if (!wanted(f, ev)) return;
    const empty = list.querySelector('li.empty');
    if (empty) empty.remove();
    list.prepend(eventItem(ev));
    while (list.children.length > MAX) list.lastChild.remove();
    shown = list.children.length;
    status();
  };

  root.append(pageHeader('Events', count), h('div', {class: 'card'}, controls(), list));
  root.addEventListener('change', (ev) => {
    if (ev.target.id === 'ev-group') { f.group = ev.target.value; rebuild(); }
    if (ev.target.id === 'ev-pause') {
      f.paused = ev.target.checked;
      if (!f.paused) { skipped = 0; rebuild(); }
    }
  });
  root.addEventListener('input', (ev) => {
    if (ev.target.id === 'ev-text') { f.text = ev.target.value.trim().toLowerCase(); rebuild(); }
  });
  root.addEventListener('submit', (ev) => ev.preventDefault());
  root.addEventListener('click', (ev) => {
    if (ev.target.id !== 'ev-clear') return;
    const last = stream.recent[stream.recent.length - 1];
    floor = last ? last.id : floor;
    rebuild();
  });
  const off = stream.on(add);
  rebuild();
  root.dataset.state = 'ready';
  return off;
}
