// The forms of the Manage page: one per change the API offers. Values go
// to the API as typed (numbers when they look like numbers) so the API's
// validation, not the browser's, produces the error messages.

import {apiForm, parseList, intOrText} from '../forms.js';
import {post, patch, del, enc, qs, request, ApiError} from '../api.js';

// need stops a call that would put an empty segment in the URL path.
function need(v, field) {
  if (!v) throw new ApiError(0, 'client', `${field} is required`, field);
  return v;
}

const opt = (v) => (v === '' ? undefined : v);
const num = (v) => (v === '' ? undefined : intOrText(v));

// parseRLOCs reads "192.0.2.1/1/100, 198.51.100.7": address[/priority[/weight]].
function parseRLOCs(v) {
  return parseList(v).map((item) => {
    const [address, priority, weight] = item.split('/');
    return {address, priority: num(priority || ''), weight: num(weight || '')};
  });
}

const iidField = (name = 'instance_id') => ({name, label: 'Instance-id', required: true, inputmode: 'numeric',
  placeholder: '0–16777215', list: 'dl-networks', api: 'instance_id'});

// The data-plane encapsulations a network may use (the API's names).
const encapOptions = [
  {value: 'lisp-gpe', label: 'LISP-GPE (UDP 4341)'},
  {value: 'vxlan', label: 'VXLAN (UDP 4789)'},
];

// The forwarding modes of a network (the API's names).
const modeOptions = [
  {value: 'push', label: 'push: every switch holds every remote host'},
  {value: 'on-demand', label: 'on demand: only the hosts its hosts talk to'},
  {value: 'auto', label: 'auto: on demand above a host count'},
];
const thresholdField = {name: 'auto_threshold', label: 'Auto threshold (hosts)', inputmode: 'numeric', placeholder: '10000',
  help: 'auto: on demand while the network holds more hosts than this.'};

export function networkForms(done) {
  return [
    apiForm({id: 'network-add', title: 'Add a network', button: 'Add network', onDone: done,
      fields: [iidField(), {name: 'name', label: 'Name', required: true, placeholder: 'tenant-blue'},
        {name: 'encapsulation', label: 'Encapsulation', type: 'select', options: encapOptions},
        {name: 'forwarding_mode', label: 'Forwarding', type: 'select', options: modeOptions}, thresholdField],
      submit: async (v) => {
        const n = await post('/networks', {instance_id: num(v.instance_id), name: v.name, encapsulation: opt(v.encapsulation),
          forwarding_mode: opt(v.forwarding_mode), auto_threshold: num(v.auto_threshold)});
        return `Network ${n.name} (IID ${n.instance_id}) created with ${n.encapsulation}, forwarding ${n.forwarding_mode}.`;
      }}),
    apiForm({id: 'network-mode', title: 'Change forwarding', button: 'Change', onDone: done,
      fields: [iidField(), {name: 'forwarding_mode', label: 'Forwarding', type: 'select', options: modeOptions,
        help: 'Its switches are recompiled; on demand they keep only the hosts in use.'}, thresholdField],
      submit: async (v) => {
        const n = await patch(`/networks/${enc(need(v.instance_id, 'instance_id'))}`,
          {forwarding_mode: v.forwarding_mode, auto_threshold: num(v.auto_threshold)});
        return `Network ${n.name} (IID ${n.instance_id}) now forwards ${n.forwarding_mode}.`;
      }}),
    apiForm({id: 'network-encap', title: 'Change encapsulation', button: 'Change', onDone: done,
      fields: [iidField(), {name: 'encapsulation', label: 'Encapsulation', type: 'select', options: encapOptions,
        help: 'Its switches get the new tunnel port; other networks keep forwarding.'}],
      submit: async (v) => {
        const n = await patch(`/networks/${enc(need(v.instance_id, 'instance_id'))}`, {encapsulation: v.encapsulation});
        return `Network ${n.name} (IID ${n.instance_id}) now uses ${n.encapsulation}.`;
      }}),
    apiForm({id: 'network-delete', title: 'Delete a network', button: 'Delete network', danger: true, onDone: done,
      fields: [iidField()],
      submit: async (v) => {
        await del(`/networks/${enc(need(v.instance_id, 'instance_id'))}`);
        return `Network ${v.instance_id} deleted with its mappings.`;
      }}),
  ];
}

// The scope fields of a site: what its Map-Registers may claim.
const scopeFields = [
  {name: 'eid_prefixes', label: 'EID prefixes', placeholder: '10.1.0.0/16',
    help: 'IP EIDs the site may register (empty: none). Static mappings must lie inside when set.'},
  {name: 'mac_prefixes', label: 'MAC prefixes', placeholder: '02:00:10:00:00:00/24', help: 'MAC blocks the site may register.'},
  {name: 'any_mac', label: 'Any MAC', type: 'select',
    options: [{value: '', label: 'unchanged / no'}, {value: 'false', label: 'no'}, {value: 'true', label: 'yes: any MAC'}]},
  {name: 'rloc_prefixes', label: 'RLOC prefixes', placeholder: '192.0.2.0/24', help: 'If set, the only RLOCs it may register.'},
];

// scopeBody sends the scope fields; with keepEmpty false (a PATCH) an
// empty field is left out, so it stays as it is.
function scopeBody(v, keepEmpty) {
  const list = (x) => (x === '' && !keepEmpty ? undefined : parseList(x));
  return {eid_prefixes: list(v.eid_prefixes), mac_prefixes: list(v.mac_prefixes), rloc_prefixes: list(v.rloc_prefixes),
    any_mac: v.any_mac === '' ? undefined : v.any_mac === 'true'};
}

export function siteForms(done) {
  return [
    apiForm({id: 'site-add', title: 'Add a site', button: 'Add site', onDone: done,
      fields: [
        {name: 'name', label: 'Name', required: true, placeholder: 'dc1'},
        {name: 'auth_key', label: 'Map-Register key', type: 'password', required: true, help: 'At least 8 characters; never shown again.'},
        {name: 'networks', label: 'Instance-ids', placeholder: '100, 200', help: 'Comma-separated.'},
        ...scopeFields,
      ],
      submit: async (v) => {
        const site = await post('/sites', {name: v.name, auth_key: opt(v.auth_key),
          networks: parseList(v.networks).map(intOrText), ...scopeBody(v, true)});
        return `Site ${site.name} created.`;
      }}),
    apiForm({id: 'site-scope', title: "Change a site's scope", button: 'Save scope', onDone: done,
      fields: [{name: 'name', label: 'Name', required: true, list: 'dl-sites'}, ...scopeFields],
      submit: async (v) => {
        const site = await request('PATCH', `/sites/${enc(need(v.name, 'name'))}`, scopeBody(v, false));
        return `Scope of ${site.name} saved.`;
      }}),
    apiForm({id: 'site-delete', title: 'Delete a site', button: 'Delete site', danger: true, onDone: done,
      fields: [{name: 'name', label: 'Name', required: true, list: 'dl-sites'}],
      submit: async (v) => {
        await del(`/sites/${enc(need(v.name, 'name'))}`);
        return `Site ${v.name} deleted.`;
      }}),
  ];
}

export function xtrForms(done) {
  return [
    apiForm({id: 'xtr-add', title: 'Add an xTR', button: 'Add xTR', onDone: done,
      fields: [
        {name: 'site', label: 'Site', required: true, list: 'dl-sites'},
        {name: 'name', label: 'Name', required: true, placeholder: 'dc1-leaf1'},
        {name: 'rloc', label: 'RLOC', required: true, placeholder: '192.0.2.1'},
        {name: 'ovsdb', label: 'OVSDB', placeholder: 'ssl:192.0.2.1:6640'},
        {name: 'bridge', label: 'Bridge', placeholder: 'br-lisp'},
        {name: 'datapath_type', label: 'Datapath', type: 'select',
          options: [{value: '', label: 'default'}, {value: 'system', label: 'system'}, {value: 'netdev', label: 'netdev'}]},
        {name: 'openflow_target', label: 'OpenFlow target', placeholder: 'ssl:controller:6653'},
        {name: 'tls_dir', label: 'TLS directory', placeholder: '/etc/openvswitch/l2lisp'},
        {name: 'priority', label: 'Priority', inputmode: 'numeric', placeholder: '1'},
        {name: 'weight', label: 'Weight', inputmode: 'numeric', placeholder: '100'},
      ],
      submit: async (v) => {
        const x = await post(`/sites/${enc(need(v.site, 'site'))}/xtrs`, {name: v.name, rloc: v.rloc,
          ovsdb: opt(v.ovsdb), bridge: opt(v.bridge), datapath_type: opt(v.datapath_type),
          openflow_target: opt(v.openflow_target), tls_dir: opt(v.tls_dir), priority: num(v.priority), weight: num(v.weight)});
        return `xTR ${x.name} added to ${x.site}.`;
      }}),
    apiForm({id: 'xtr-delete', title: 'Delete an xTR', button: 'Delete xTR', danger: true, onDone: done,
      fields: [{name: 'name', label: 'Name', required: true, list: 'dl-xtrs'}],
      submit: async (v) => {
        await del(`/xtrs/${enc(need(v.name, 'name'))}`);
        return `xTR ${v.name} deleted.`;
      }}),
  ];
}

export function portForms(done) {
  const xtr = {name: 'xtr', label: 'xTR', required: true, list: 'dl-xtrs'};
  return [
    apiForm({id: 'port-bind', title: 'Bind a port', button: 'Bind port', onDone: done,
      fields: [xtr, {name: 'port', label: 'Port', required: true, placeholder: 'tap0', api: 'name'}, iidField()],
      submit: async (v) => {
        const p = await post(`/xtrs/${enc(need(v.xtr, 'xtr'))}/ports`, {name: v.port, instance_id: num(v.instance_id)});
        return `Port ${p.name} of ${p.xtr} bound to IID ${p.instance_id} (OpenFlow port ${p.ofport}).`;
      }}),
    apiForm({id: 'port-unbind', title: 'Unbind a port', button: 'Unbind port', danger: true, onDone: done,
      fields: [xtr, {name: 'port', label: 'Port', required: true, api: 'name'}],
      submit: async (v) => {
        await del(`/xtrs/${enc(need(v.xtr, 'xtr'))}/ports/${enc(need(v.port, 'port'))}`);
        return `Port ${v.port} of ${v.xtr} unbound.`;
      }}),
  ];
}

export function mappingForms(done) {
  const eid = {name: 'eid', label: 'EID', required: true, placeholder: '02:00:00:00:00:01 or 10.1.0.5'};
  return [
    apiForm({id: 'mapping-add', title: 'Add a static mapping', button: 'Add mapping', onDone: done,
      fields: [iidField(), eid, {name: 'site', label: 'Site', required: true, list: 'dl-sites'},
        {name: 'rlocs', label: 'RLOCs', placeholder: '192.0.2.1/1/100', help: 'address[/priority[/weight]], comma-separated; empty: the site\'s xTRs.'},
        {name: 'ttl', label: 'TTL (minutes)', inputmode: 'numeric', placeholder: '1440'}],
      submit: async (v) => {
        const r = await post('/mappings', {instance_id: num(v.instance_id), eid: v.eid, site: v.site,
          rlocs: parseRLOCs(v.rlocs), ttl: num(v.ttl)});
        return `Mapping ${r.eid} (IID ${r.instance_id}) saved at ${r.site}, version ${r.version}.`;
      }}),
    apiForm({id: 'mapping-delete', title: 'Delete a mapping', button: 'Delete mapping', danger: true, onDone: done,
      fields: [iidField(), eid],
      submit: async (v) => {
        await del('/mappings' + qs({instance_id: v.instance_id, eid: v.eid}));
        return `Mapping ${v.eid} deleted.`;
      }}),
    apiForm({id: 'duplicate-clear', title: 'Clear a duplicate flag', button: 'Clear flag', onDone: done,
      fields: [iidField(), eid],
      submit: async (v) => {
        await post('/mappings/duplicates/clear' + qs({instance_id: v.instance_id, eid: v.eid}));
        return `Duplicate flag of ${v.eid} cleared.`;
      }}),
  ];
}
