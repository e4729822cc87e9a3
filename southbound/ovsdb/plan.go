package ovsdb

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/l2lisp/l2lisp/southbound/ovsdb/vswitchd"
)

// ErrNotOwned reports a row l2lisp would have to change but did not create.
var ErrNotOwned = errors.New("exists and is not owned by l2lisp")

// ErrNotInitialized reports a database without its Open_vSwitch root row
// (ovs-vsctl init was never run).
var ErrNotInitialized = errors.New("database has no Open_vSwitch row")

const (
	tunnelType = "vxlan"
	protocol   = "OpenFlow13" // vswitchd.BridgeProtocolsOpenflow13
	failMode   = "secure"     // vswitchd.BridgeFailModeSecure
	dpidKey    = "datapath-id"
)

// portSpec is one port the desired state puts on the bridge; every port
// has exactly one interface of the same name.
type portSpec struct {
	name    string
	ifType  string
	options map[string]string
	ofport  int
	bfd     map[string]string // the bfd column: BFD ports only
}

func portSpecs(d Desired) []portSpec {
	specs := make([]portSpec, 0, len(d.Tunnels)+len(d.AccessPorts))
	for _, t := range d.Tunnels {
		specs = append(specs, portSpec{name: t.Name, ifType: tunnelType,
			options: tunnelOptions(d.LocalRLOC, t), ofport: t.OFPort})
	}
	for _, a := range d.AccessPorts {
		specs = append(specs, portSpec{name: a.Name, ofport: a.OFPort, options: map[string]string{}})
	}
	return append(specs, bfdSpecs(d)...)
}

// planner accumulates the operations of one transaction and the matching
// human-readable changes.
type planner struct {
	s       *snapshot
	owner   string
	ops     []ovsdb.Operation
	changes Changes
	named   int
}

func (p *planner) newName() string {
	p.named++
	return fmt.Sprintf("l2lisp_row%d", p.named)
}

func (p *planner) add(op ovsdb.Operation, c Change) {
	p.ops = append(p.ops, op)
	p.changes = append(p.changes, c)
}

// planApply computes the transaction that makes s hold d. It returns no
// operations when s already does.
func planApply(s *snapshot, d Desired, owner string) ([]ovsdb.Operation, Changes, error) {
	if s.root == nil {
		return nil, nil, ErrNotInitialized
	}
	br := s.bridgeByName(d.Bridge)
	if br != nil && br.ExternalIDs[OwnerKey] != owner {
		return nil, nil, fmt.Errorf("bridge %q %w", d.Bridge, ErrNotOwned)
	}
	specs := portSpecs(d)
	for _, spec := range specs {
		if err := checkPortConflict(s, br, spec.name); err != nil {
			return nil, nil, err
		}
	}
	p := &planner{s: s, owner: owner}
	if err := p.planSSL(d.SSL); err != nil {
		return nil, nil, err
	}
	if br == nil {
		p.createBridge(d, specs)
	} else {
		p.updateBridge(br, d, specs)
	}
	return p.ops, p.changes, nil
}

// checkPortConflict refuses ports and interfaces of the desired name that
// live anywhere but on our bridge: they belong to someone else.
func checkPortConflict(s *snapshot, br *vswitchd.Bridge, name string) error {
	if port := s.portByName(name); port != nil {
		owner := s.bridgeOfPort(port.UUID)
		if br == nil || owner == nil || owner.UUID != br.UUID {
			where := "no bridge"
			if owner != nil {
				where = "bridge " + owner.Name
			}
			return fmt.Errorf("port %q already exists on %s: %w", name, where, ErrNotOwned)
		}
	}
	if iface := s.ifaceByName(name); iface != nil {
		port := s.portOfIface(iface.UUID)
		if port == nil || port.Name != name {
			return fmt.Errorf("interface %q already belongs to another port: %w", name, ErrNotOwned)
		}
	}
	return nil
}

func (p *planner) createBridge(d Desired, specs []portSpec) {
	var ports []any
	for _, spec := range specs {
		iface := p.insertIface(spec)
		ports = append(ports, p.insertPort(spec.name, iface))
	}
	var ctrls []any
	for _, target := range d.Controllers {
		ctrls = append(ctrls, p.insertController(target))
	}
	name := p.newName()
	p.add(ovsdb.Operation{
		Op: ovsdb.OperationInsert, Table: vswitchd.BridgeTable, UUIDName: name,
		Row: ovsdb.Row{
			"name":          d.Bridge,
			"datapath_type": d.DatapathType,
			"fail_mode":     failMode,
			"protocols":     set(protocol),
			"other_config":  strMap(map[string]string{dpidKey: datapathIDString(d.DatapathID)}),
			"external_ids":  strMap(map[string]string{OwnerKey: p.owner}),
			"ports":         ovsdb.OvsSet{GoSet: nonNil(ports)},
			"controller":    ovsdb.OvsSet{GoSet: nonNil(ctrls)},
		},
	}, Change{Op: "insert", Table: vswitchd.BridgeTable, Name: d.Bridge})
	p.ops = append(p.ops, ovsdb.Operation{
		Op: ovsdb.OperationMutate, Table: vswitchd.OpenvSwitchTable,
		Where: whereUUID(p.s.root.UUID),
		Mutations: []ovsdb.Mutation{{
			Column: "bridges", Mutator: ovsdb.MutateOperationInsert, Value: set(ref(name)),
		}},
	})
}

func (p *planner) insertIface(spec portSpec) ovsdb.UUID {
	name := p.newName()
	p.add(ovsdb.Operation{
		Op: ovsdb.OperationInsert, Table: vswitchd.InterfaceTable, UUIDName: name,
		Row: ovsdb.Row{
			"name":           spec.name,
			"type":           spec.ifType,
			"options":        strMap(spec.options),
			"ofport_request": optInt(spec.ofport),
			"bfd":            strMap(spec.bfd),
			"external_ids":   strMap(map[string]string{OwnerKey: p.owner}),
		},
	}, Change{Op: "insert", Table: vswitchd.InterfaceTable, Name: spec.name})
	return ref(name)
}

func (p *planner) insertPort(name string, iface ovsdb.UUID) ovsdb.UUID {
	uuidName := p.newName()
	p.add(ovsdb.Operation{
		Op: ovsdb.OperationInsert, Table: vswitchd.PortTable, UUIDName: uuidName,
		Row: ovsdb.Row{
			"name":         name,
			"interfaces":   set(iface),
			"external_ids": strMap(map[string]string{OwnerKey: p.owner}),
		},
	}, Change{Op: "insert", Table: vswitchd.PortTable, Name: name})
	return ref(uuidName)
}

func (p *planner) insertController(target string) ovsdb.UUID {
	name := p.newName()
	p.add(ovsdb.Operation{
		Op: ovsdb.OperationInsert, Table: vswitchd.ControllerTable, UUIDName: name,
		Row: ovsdb.Row{
			"target":       target,
			"external_ids": strMap(map[string]string{OwnerKey: p.owner}),
		},
	}, Change{Op: "insert", Table: vswitchd.ControllerTable, Name: target})
	return ref(name)
}

// planRemove computes the transaction that deletes our bridge d.Bridge.
// Ports, interfaces and controllers go with it: the schema garbage-collects
// rows no longer referenced from the root.
func planRemove(s *snapshot, d Desired, owner string) ([]ovsdb.Operation, Changes, error) {
	if s.root == nil {
		return nil, nil, ErrNotInitialized
	}
	br := s.bridgeByName(d.Bridge)
	if br == nil {
		return nil, nil, nil
	}
	if br.ExternalIDs[OwnerKey] != owner {
		return nil, nil, fmt.Errorf("bridge %q %w", d.Bridge, ErrNotOwned)
	}
	p := &planner{s: s, owner: owner}
	var ports []string
	for _, u := range br.Ports {
		if port := s.ports[u]; port != nil {
			ports = append(ports, port.Name)
		}
	}
	sort.Strings(ports)
	p.add(ovsdb.Operation{
		Op: ovsdb.OperationMutate, Table: vswitchd.OpenvSwitchTable,
		Where: whereUUID(s.root.UUID),
		Mutations: []ovsdb.Mutation{{
			Column: "bridges", Mutator: ovsdb.MutateOperationDelete, Value: set(ref(br.UUID)),
		}},
	}, Change{Op: "delete", Table: vswitchd.BridgeTable, Name: d.Bridge,
		Detail: "ports " + strings.Join(ports, ",")})
	return p.ops, p.changes, nil
}

func whereUUID(u string) []ovsdb.Condition {
	return []ovsdb.Condition{ovsdb.NewCondition("_uuid", ovsdb.ConditionEqual, ref(u))}
}

func ref(u string) ovsdb.UUID { return ovsdb.UUID{GoUUID: u} }

func set(vals ...any) ovsdb.OvsSet { return ovsdb.OvsSet{GoSet: nonNil(vals)} }

func nonNil(vals []any) []any {
	if vals == nil {
		return []any{}
	}
	return vals
}

func strMap(m map[string]string) ovsdb.OvsMap {
	out := ovsdb.OvsMap{GoMap: map[any]any{}}
	for k, v := range m {
		out.GoMap[k] = v
	}
	return out
}

// optInt is an optional integer column: 0 means "not set".
func optInt(v int) ovsdb.OvsSet {
	if v == 0 {
		return set()
	}
	return set(v)
}
