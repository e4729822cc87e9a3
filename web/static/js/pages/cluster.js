// The controller replicas sharing the database: which one leads (programs
// the switches) and how far each has applied the change feed.

import {h, replace, table, badge, ago, fmtNum, fmtTime} from '../dom.js';
import {get} from '../api.js';
import {errorBox} from './common.js';

const POLL = 5000; // heartbeats move without events: poll

const roleKind = {leader: 'good', standby: 'registered', stopped: 'warn', down: 'bad'};

function replicaTable(v) {
  const rows = v.replicas.map((r) => h('tr', {dataset: {key: r.id, role: r.role}},
    h('th', {scope: 'row'}, r.id, r.self ? h('small', {class: 'muted'}, ' (this one)') : null),
    h('td', {class: 'mono'}, r.address || '–'),
    h('td', null, badge(r.role, roleKind[r.role])),
    h('td', {title: fmtTime(r.last_heartbeat)}, ago(r.last_heartbeat) || '–'),
    h('td', {class: 'num'}, fmtNum(r.applied_event_id))));
  const caption = v.election
    ? `Leader elected through the database (lease ${v.lease_seconds}s); standbys take over when it lapses.`
    : 'A single controller: it programs the switches.';
  return table('replicas-table', caption, ['Replica', 'Address', 'Role', 'Heartbeat', ['Applied event', 'num']], rows,
    'No replica has reported yet.');
}

// mountCluster fills slot with the replica table and keeps it current;
// it returns the cleanup.
export function mountCluster(slot) {
  let alive = true;
  let timer = 0;
  const load = async () => {
    try {
      const v = await get('/cluster');
      if (!alive) return;
      replace(slot, replicaTable(v));
      slot.dataset.state = 'ready';
    } catch (e) {
      if (alive) replace(slot, errorBox(e));
    }
    if (alive) timer = setTimeout(load, POLL);
  };
  load();
  return () => {
    alive = false;
    clearTimeout(timer);
  };
}
