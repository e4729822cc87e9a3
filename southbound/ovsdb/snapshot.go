package ovsdb

import (
	"github.com/l2lisp/l2lisp/southbound/ovsdb/vswitchd"
)

// snapshot is the part of the Open_vSwitch database the planner reads,
// copied out of the client cache so planning is a pure function.
type snapshot struct {
	root        *vswitchd.OpenvSwitch
	bridges     map[string]*vswitchd.Bridge // by UUID
	ports       map[string]*vswitchd.Port
	ifaces      map[string]*vswitchd.Interface
	controllers map[string]*vswitchd.Controller
	ssl         map[string]*vswitchd.SSL
}

func newSnapshot() *snapshot {
	return &snapshot{
		bridges:     map[string]*vswitchd.Bridge{},
		ports:       map[string]*vswitchd.Port{},
		ifaces:      map[string]*vswitchd.Interface{},
		controllers: map[string]*vswitchd.Controller{},
		ssl:         map[string]*vswitchd.SSL{},
	}
}

func (s *snapshot) bridgeByName(name string) *vswitchd.Bridge {
	for _, b := range s.bridges {
		if b.Name == name {
			return b
		}
	}
	return nil
}

func (s *snapshot) portByName(name string) *vswitchd.Port {
	for _, p := range s.ports {
		if p.Name == name {
			return p
		}
	}
	return nil
}

func (s *snapshot) ifaceByName(name string) *vswitchd.Interface {
	for _, i := range s.ifaces {
		if i.Name == name {
			return i
		}
	}
	return nil
}

// bridgeOfPort is the bridge whose ports column holds portUUID.
func (s *snapshot) bridgeOfPort(portUUID string) *vswitchd.Bridge {
	for _, b := range s.bridges {
		if contains(b.Ports, portUUID) {
			return b
		}
	}
	return nil
}

// portOfIface is the port whose interfaces column holds ifaceUUID.
func (s *snapshot) portOfIface(ifaceUUID string) *vswitchd.Port {
	for _, p := range s.ports {
		if contains(p.Interfaces, ifaceUUID) {
			return p
		}
	}
	return nil
}

func contains[T comparable](s []T, v T) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// sameSet reports whether a and b hold the same elements, ignoring order
// (OVSDB sets have none) and assuming no duplicates (sets have none).
func sameSet[T comparable](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	for _, x := range a {
		if !contains(b, x) {
			return false
		}
	}
	return true
}

func sameMap(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}
