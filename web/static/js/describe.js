// Friendly one-line descriptions of change-feed events. Unknown types are
// still shown, with their raw data, so nothing the controller says is lost.

function iidOf(ev) {
  const d = ev.data || {};
  const v = ev.instance_id ?? d.instance_id;
  return v === undefined || v === null ? '' : ` in IID ${v}`;
}

function where(ev) {
  const d = ev.data || {};
  const site = ev.site || d.site;
  const xtr = ev.xtr || d.xtr;
  const port = d.port;
  let s = site ? ` at ${site}` : '';
  if (xtr) s += ` via ${xtr}${port ? '/' + port : ''}`;
  return s;
}

function rlocs(d) {
  const l = (d && d.rlocs) || [];
  return l.length ? ` → ${l.map((r) => r.address).join(', ')}` : '';
}

// convergence finds a move's convergence time in the event data, whatever
// unit the controller used, and returns it in milliseconds.
export function convergence(data) {
  if (!data || typeof data !== 'object') return null;
  const units = {convergence_ms: 1, convergence_us: 0.001, convergence_ns: 1e-6,
    convergence_seconds: 1000, convergence_s: 1000, convergence_sec: 1000, seconds: 1000};
  for (const [k, mul] of Object.entries(units)) {
    if (typeof data[k] === 'number') return data[k] * mul;
  }
  const v = data.convergence ?? data.convergence_time;
  if (typeof v === 'number') return v * 1000; // seconds, as the metric is
  if (typeof v === 'string') {
    const m = /^([\d.]+)\s*(ns|µs|us|ms|s)$/.exec(v.trim());
    if (m) return Number(m[1]) * {ns: 1e-6, 'µs': 1e-3, us: 1e-3, ms: 1, s: 1000}[m[2]];
  }
  return null;
}

export function fmtMs(ms) {
  if (ms < 1) return `${(ms * 1000).toFixed(0)} µs`;
  if (ms < 1000) return `${ms.toFixed(ms < 10 ? 2 : 0)} ms`;
  return `${(ms / 1000).toFixed(2)} s`;
}

const verbs = {learned: 'learned', registered: 'registered', static: 'added (static)'};

function mappingText(ev, d) {
  const eid = ev.eid || d.eid || '?';
  switch (ev.type) {
    case 'mapping.created':
      return `Host ${eid}${iidOf(ev)} ${verbs[d.origin] || 'mapped'}${where(ev)}${rlocs(d)}`;
    case 'mapping.updated':
      return `Mapping of ${eid}${iidOf(ev)} updated${where(ev)}${rlocs(d)}`;
    case 'mapping.moved': {
      const ms = convergence(d);
      return `Host ${eid}${iidOf(ev)} moved${d.from_site ? ' from ' + d.from_site : ''} to ${ev.site || d.site || '?'}` +
        `${ev.xtr || d.xtr ? ' via ' + (ev.xtr || d.xtr) : ''}${rlocs(d)}${ms === null ? '' : ` — converged in ${fmtMs(ms)}`}`;
    }
    case 'mapping.converged': return convergedText(ev, d, eid);
    case 'mapping.deleted':
      return `Host ${eid}${iidOf(ev)} withdrawn${where(ev)}`;
    case 'mapping.duplicate':
      return `Duplicate ${eid}${iidOf(ev)}: flapping${d.from_site ? ' between ' + d.from_site + ' and' : ' at'} ` +
        `${ev.site || d.site || '?'}${d.moves ? ` (${d.moves} moves in ${d.window_seconds || '?'} s)` : ''} — frozen`;
    case 'mapping.duplicate_cleared':
      return `Duplicate flag of ${eid}${iidOf(ev)} cleared; it may move again`;
  }
  return null;
}

// convergedText reports how long a move took to reach every switch.
function convergedText(ev, d, eid) {
  const ms = convergence(d);
  const n = Array.isArray(d.switches) ? d.switches.length : null;
  const route = `${d.from_site ? ' from ' + d.from_site : ''} to ${d.to_site || ev.site || '?'}`;
  const took = ms === null ? '' : ` in ${fmtMs(ms)}`;
  const on = n === null ? '' : ` on ${n} switch${n === 1 ? '' : 'es'}`;
  if (d.converged === false) return `Move of ${eid}${route} not confirmed by every switch${took}${on}`;
  return `Move of ${eid}${iidOf(ev)}${route} converged${took}${on}`;
}

function objectText(ev, d) {
  switch (ev.type) {
    case 'network.created': return `Network ${d.name || ''} (IID ${d.instance_id}) created${d.encapsulation ? ', ' + d.encapsulation : ''}`;
    case 'network.updated': return `Network ${d.name || ''} (IID ${d.instance_id}) now uses ${d.encapsulation || '?'}, forwarding ${d.forwarding_mode || 'push'}`;
    case 'network.deleted': return `Network ${d.name || ''} (IID ${d.instance_id}) deleted`;
    case 'site.created': return `Site ${d.name || ev.site} created`;
    case 'site.updated': return `Site ${d.name || ev.site} updated`;
    case 'site.deleted': return `Site ${d.name || ev.site} deleted`;
    case 'xtr.created': return `xTR ${d.name || ev.xtr} (RLOC ${d.rloc || '?'}) added to ${d.site || ev.site || '?'}`;
    case 'xtr.deleted': return `xTR ${d.name || ev.xtr} removed`;
    case 'xtr.drained': return `xTR ${d.name || ev.xtr} drained for maintenance: no longer designated forwarder, remote sites send to the others`;
    case 'xtr.undrained': return `xTR ${d.name || ev.xtr} back in service`;
    case 'bfd.status': return bfdText(ev, d);
    case 'port.bound': return `Port ${d.name} of ${d.xtr || ev.xtr} bound to IID ${d.instance_id}`;
    case 'port.unbound': return `Port ${d.name} of ${d.xtr || ev.xtr} unbound`;
    case 'token.created': return `API token ${d.name} (${d.role}) created`;
    case 'token.revoked': return `API token ${d.name} revoked`;
    case 'feed.truncated':
      return `Events up to #${d.pruned_through} were deleted by the retention policy: older history is gone`;
    case 'subscription.created': return `xTR ${d.xtr_id || '?'} of ${d.site || ev.site || '?'} subscribed to ${d.eid || ev.eid}${iidOf(ev)}`;
    case 'subscription.refreshed': return `xTR ${d.xtr_id || '?'} renewed its subscription to ${d.eid || ev.eid}${iidOf(ev)}`;
    case 'subscription.deleted': return `Subscription of xTR ${d.xtr_id || '?'} to ${d.eid || ev.eid}${iidOf(ev)} ended${reason(d)}`;
  }
  return null;
}

// bfdText summarises an xTR's BFD report: the peers it cannot reach.
function bfdText(ev, d) {
  const s = d.sessions || {};
  const down = Object.keys(s).filter((k) => !s[k]).sort();
  const n = Object.keys(s).length;
  return `BFD of ${ev.xtr || '?'}: ${n - down.length}/${n} sessions up` + (down.length ? `; down: ${down.join(', ')}` : '');
}

function reason(d) {
  const r = d.reason || d.error || d.message || d.last_error;
  return r ? `: ${r}` : '';
}

function rloc(d) { return d.rloc ? ` (RLOC ${d.rloc})` : ''; }

function alertText(ev, d) {
  const conn = d.conn || d.connection || d.kind;
  switch (ev.type) {
    case 'xtr.up': return `xTR ${ev.xtr || d.xtr || d.name}${rloc(d)} is up${conn ? ' (' + conn + ')' : ''}`;
    case 'xtr.down': return `xTR ${ev.xtr || d.xtr || d.name}${rloc(d)} is down${conn ? ' (' + conn + ')' : ''}${reason(d)}`;
    case 'learn.limit':
      return `Port ${d.port || '?'} of ${ev.xtr || '?'}${iidOf(ev)} reached its limit of ${d.limit ?? '?'} learned MACs` +
        `${d.mac ? '; ' + d.mac + ' not learned' : ''}`;
    case 'openflow.refused': {
      const who = ev.xtr || d.name || (d.claimed_name ? `"${d.claimed_name}" (unverified)` : 'a switch');
      const more = d.suppressed ? ` (+${d.suppressed} more)` : '';
      return `OpenFlow connection from ${who} at ${d.remote || '?'} refused: ${(d.reason || '?').replaceAll('_', ' ')}${more}`;
    }
    case 'subscription.refused':
      return `Subscription from ${d.source || 'an xTR'}${d.xtr_id ? ' (xTR-ID ' + d.xtr_id + ')' : ''} refused${reason(d)}`;
    case 'map-notify.unacknowledged':
      return `Map-Notify (${d.kind || '?'}${ev.eid ? ' of ' + ev.eid + iidOf(ev) : ''}) to ${d.destination || '?'} ` +
        `never acknowledged after ${d.copies || '?'} copies`;
    case 'registration.refused': {
      const who = ev.xtr || d.source || d.from || 'an ETR';
      const eid = ev.eid || d.eid;
      // site: the site that authenticated; candidate_site: the one whose
      // key did not verify; owner_site: the one holding the EID.
      const as = ev.site ? ` (site ${ev.site})` : d.candidate_site ? ` (not signed with ${d.candidate_site}'s key)` : '';
      const owner = d.owner_site ? `, held by ${d.owner_site}` : '';
      return `Map-Register from ${who}${as} refused${eid ? ' for ' + eid : ''}${iidOf(ev)}${reason(d)}${owner}`;
    }
  }
  return null;
}

// kinds give each event a colour: good, warn, bad or info.
const kinds = {
  'mapping.created': 'good', 'mapping.moved': 'info', 'mapping.deleted': 'warn',
  'mapping.duplicate': 'bad', 'registration.refused': 'bad', 'openflow.refused': 'bad', 'xtr.up': 'good', 'xtr.down': 'bad',
  'mapping.converged': 'info', 'mapping.duplicate_cleared': 'good', 'learn.limit': 'warn',
  'token.created': 'info', 'token.revoked': 'warn', 'feed.truncated': 'warn',
  'subscription.created': 'good', 'subscription.deleted': 'warn', 'subscription.refused': 'bad',
  'map-notify.unacknowledged': 'warn',
};

export function kindOf(type) { return kinds[type] || 'plain'; }

// describe returns the friendly text of an event, or a generic line.
export function describe(ev) {
  const d = ev.data && typeof ev.data === 'object' ? ev.data : {};
  const t = mappingText(ev, d) || objectText(ev, d) || alertText(ev, d);
  if (t) return t;
  const parts = [ev.type];
  if (ev.eid) parts.push(ev.eid + iidOf(ev));
  if (ev.site) parts.push('site ' + ev.site);
  if (ev.xtr) parts.push('xTR ' + ev.xtr);
  if (ev.data !== undefined && ev.data !== null) {
    const raw = JSON.stringify(ev.data);
    parts.push(raw.length > 160 ? raw.slice(0, 159) + '…' : raw);
  }
  return parts.join(' · ');
}
