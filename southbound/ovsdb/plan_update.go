package ovsdb

import (
	"sort"
	"strings"

	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/l2lisp/l2lisp/southbound/ovsdb/vswitchd"
)

// updateBridge puts an existing bridge of ours back into the desired state.
func (p *planner) updateBridge(br *vswitchd.Bridge, d Desired, specs []portSpec) {
	row := ovsdb.Row{}
	if br.DatapathType != d.DatapathType {
		row["datapath_type"] = d.DatapathType
	}
	if br.FailMode == nil || *br.FailMode != failMode {
		row["fail_mode"] = failMode
	}
	if !sameSet(br.Protocols, []string{protocol}) {
		row["protocols"] = set(protocol)
	}
	if ctrls, changed := p.controllers(br, d.Controllers); changed {
		row["controller"] = ovsdb.OvsSet{GoSet: ctrls}
	}
	if len(row) > 0 {
		p.add(ovsdb.Operation{
			Op: ovsdb.OperationUpdate, Table: vswitchd.BridgeTable,
			Where: whereUUID(br.UUID), Row: row,
		}, Change{Op: "update", Table: vswitchd.BridgeTable, Name: br.Name, Detail: columns(row)})
	}

	// Map keys and port membership are mutated rather than overwritten so
	// that keys and foreign ports someone else adds at the same time survive.
	var muts []ovsdb.Mutation
	var detail []string
	dpid := datapathIDString(d.DatapathID)
	if br.OtherConfig[dpidKey] != dpid {
		muts = append(muts, setKey("other_config", dpidKey, dpid)...)
		detail = append(detail, "other_config:"+dpidKey)
	}
	add, del := p.ports(br, specs)
	if len(add) > 0 {
		muts = append(muts, ovsdb.Mutation{Column: "ports", Mutator: ovsdb.MutateOperationInsert, Value: set(add...)})
		detail = append(detail, "ports+")
	}
	if len(del) > 0 {
		muts = append(muts, ovsdb.Mutation{Column: "ports", Mutator: ovsdb.MutateOperationDelete, Value: set(del...)})
		detail = append(detail, "ports-")
	}
	if len(muts) > 0 {
		p.add(ovsdb.Operation{
			Op: ovsdb.OperationMutate, Table: vswitchd.BridgeTable,
			Where: whereUUID(br.UUID), Mutations: muts,
		}, Change{Op: "update", Table: vswitchd.BridgeTable, Name: br.Name, Detail: strings.Join(detail, ",")})
	}
}

// controllers returns the controller set the bridge should reference,
// reusing rows whose target is already right, and whether it differs.
func (p *planner) controllers(br *vswitchd.Bridge, targets []string) ([]any, bool) {
	byTarget := map[string]string{}
	for _, u := range br.Controller {
		if c := p.s.controllers[u]; c != nil {
			byTarget[c.Target] = u
		}
	}
	out := []any{}
	var keep []string
	for _, t := range targets {
		if u, ok := byTarget[t]; ok {
			out = append(out, ref(u))
			keep = append(keep, u)
			continue
		}
		out = append(out, p.insertController(t))
	}
	changed := len(keep) != len(out) || !sameSet(keep, br.Controller)
	return out, changed
}

// ports reconciles the desired ports that already exist and returns the
// references to add to and remove from the bridge's ports column.
func (p *planner) ports(br *vswitchd.Bridge, specs []portSpec) (add, del []any) {
	wanted := map[string]bool{}
	for _, spec := range specs {
		wanted[spec.name] = true
		port := p.s.portByName(spec.name)
		if port == nil {
			add = append(add, p.insertPort(spec.name, p.insertIface(spec)))
			continue
		}
		p.reconcilePort(port, spec)
	}
	var stale []string
	for _, u := range br.Ports {
		port := p.s.ports[u]
		if port == nil || wanted[port.Name] || port.ExternalIDs[OwnerKey] != p.owner {
			continue // foreign ports on our bridge are left alone
		}
		del = append(del, ref(u))
		stale = append(stale, port.Name)
	}
	sort.Strings(stale)
	for _, name := range stale {
		p.changes = append(p.changes, Change{Op: "delete", Table: vswitchd.PortTable, Name: name})
	}
	return add, del
}

// reconcilePort fixes a port of the desired name that is on our bridge
// (checkPortConflict guarantees that); a port re-added by hand is adopted.
func (p *planner) reconcilePort(port *vswitchd.Port, spec portSpec) {
	iface := p.s.ifaceByName(spec.name)
	if iface == nil || len(port.Interfaces) != 1 || port.Interfaces[0] != iface.UUID {
		var r ovsdb.UUID
		if iface == nil {
			r = p.insertIface(spec)
		} else {
			r = ref(iface.UUID)
		}
		p.add(ovsdb.Operation{
			Op: ovsdb.OperationUpdate, Table: vswitchd.PortTable,
			Where: whereUUID(port.UUID), Row: ovsdb.Row{"interfaces": set(r)},
		}, Change{Op: "update", Table: vswitchd.PortTable, Name: port.Name, Detail: "interfaces"})
	}
	p.tag(vswitchd.PortTable, port.UUID, port.Name, port.ExternalIDs)
	if iface != nil {
		p.reconcileIface(iface, spec)
	}
}

func (p *planner) reconcileIface(iface *vswitchd.Interface, spec portSpec) {
	row := ovsdb.Row{}
	if iface.Type != spec.ifType {
		row["type"] = spec.ifType
	}
	if !sameMap(iface.Options, spec.options) {
		row["options"] = strMap(spec.options)
	}
	if !sameMap(iface.BFD, spec.bfd) {
		row["bfd"] = strMap(spec.bfd)
	}
	have := 0
	if iface.OfportRequest != nil {
		have = *iface.OfportRequest
	}
	if have != spec.ofport {
		row["ofport_request"] = optInt(spec.ofport)
	}
	if len(row) > 0 {
		p.add(ovsdb.Operation{
			Op: ovsdb.OperationUpdate, Table: vswitchd.InterfaceTable,
			Where: whereUUID(iface.UUID), Row: row,
		}, Change{Op: "update", Table: vswitchd.InterfaceTable, Name: iface.Name, Detail: columns(row)})
	}
	p.tag(vswitchd.InterfaceTable, iface.UUID, iface.Name, iface.ExternalIDs)
}

// tag marks a row as ours unless it already is.
func (p *planner) tag(table, uuid, name string, ext map[string]string) {
	if ext[OwnerKey] == p.owner {
		return
	}
	p.add(ovsdb.Operation{
		Op: ovsdb.OperationMutate, Table: table, Where: whereUUID(uuid),
		Mutations: setKey("external_ids", OwnerKey, p.owner),
	}, Change{Op: "update", Table: table, Name: name, Detail: "external_ids:" + OwnerKey})
}

// setKey replaces one key of a map column: "insert" never overwrites an
// existing key, so the old value is deleted first.
func setKey(column, key, value string) []ovsdb.Mutation {
	return []ovsdb.Mutation{
		{Column: column, Mutator: ovsdb.MutateOperationDelete, Value: set(key)},
		{Column: column, Mutator: ovsdb.MutateOperationInsert, Value: strMap(map[string]string{key: value})},
	}
}

func columns(row ovsdb.Row) string {
	cols := make([]string, 0, len(row))
	for c := range row {
		cols = append(cols, c)
	}
	sort.Strings(cols)
	return strings.Join(cols, ",")
}
