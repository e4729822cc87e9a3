package ovsdb

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// UDP ports of the data planes the tunnel ports speak.
const (
	LISPDataPort  = 4341 // LISP data plane (RFC 9300), also LISP-GPE (RFC 9305)
	VXLANDataPort = 4789 // VXLAN (RFC 7348)
)

// OwnerKey is the external_ids key that marks rows l2lisp created.
const OwnerKey = "l2lisp-owner"

// DefaultOwner is the OwnerKey value used unless WithOwner says otherwise.
const DefaultOwner = "l2lisp"

// maxIfName is IFNAMSIZ-1: bridges and access ports are kernel or tap
// devices, so longer names would be refused by ovs-vswitchd, not by OVSDB.
const maxIfName = 15

// maxOFPort is the highest ofport_request the schema accepts.
const maxOFPort = 65279

// ErrInvalidDesired reports a Desired state that cannot be applied.
var ErrInvalidDesired = errors.New("invalid desired state")

// Desired is everything the controller wants one edge switch to hold.
type Desired struct {
	Bridge       string       // e.g. "br-int"
	DatapathType string       // "netdev" in the lab, "" = system
	DatapathID   uint64       // set as other_config:datapath-id (16 hex digits)
	Controllers  []string     // OpenFlow targets, e.g. "tcp:203.0.113.254:6653"
	Tunnels      []Tunnel     // one per encapsulation in use; none is allowed
	LocalRLOC    netip.Addr   // options:local_ip of every tunnel
	AccessPorts  []AccessPort // ports bound to tenant networks
	SSL          *SSL         // files for ssl: controller targets; nil leaves the SSL table alone
	BFD          []BFDSession // one BFD port per peer RLOC (bfd.go)
	BFDTimers    BFDTimers
}

// Tunnel is one flow-based tunnel port: an OVS vxlan interface whose
// remote RLOC and 24-bit key come from each flow (set_field tun_dst and
// tun_id), listening on DstPort.
type Tunnel struct {
	Name    string // e.g. "lisp0"
	OFPort  int    // ofport_request; 0 = let OVS choose
	DstPort int    // UDP port sent to and listened on
	// GPE turns on the VXLAN-GPE header (options:exts=gpe) carrying
	// Ethernet: flags I and P, Next Protocol 0x03, which on LISPDataPort is
	// exactly the LISP-GPE header of RFC 9305. Without it the header is
	// plain VXLAN (RFC 7348).
	GPE bool
}

// AccessPort is a host interface (typically a veth) added to the bridge.
type AccessPort struct {
	Name   string
	OFPort int // ofport_request; 0 = let OVS choose
}

// Validate reports the first reason d cannot be applied, wrapping
// ErrInvalidDesired.
func (d Desired) Validate() error {
	if err := d.validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidDesired, err)
	}
	return nil
}

func (d Desired) validate() error {
	if err := checkName("bridge", d.Bridge); err != nil {
		return err
	}
	switch d.DatapathType {
	case "", "system", "netdev":
	default:
		return fmt.Errorf("datapath type %q: want \"\", \"system\" or \"netdev\"", d.DatapathType)
	}
	if d.DatapathID == 0 {
		return errors.New("datapath id must not be zero")
	}
	seen := map[string]bool{}
	for _, t := range d.Controllers {
		if !strings.HasPrefix(t, "tcp:") && !strings.HasPrefix(t, "ssl:") &&
			!strings.HasPrefix(t, "unix:") {
			return fmt.Errorf("controller target %q: want a tcp, ssl or unix target", t)
		}
		if seen[t] {
			return fmt.Errorf("controller target %q listed twice", t)
		}
		seen[t] = true
	}
	if !d.LocalRLOC.IsValid() || d.LocalRLOC.IsUnspecified() {
		return fmt.Errorf("local RLOC %v is not a usable address", d.LocalRLOC)
	}
	if d.SSL != nil {
		if err := d.SSL.validate(); err != nil {
			return err
		}
	}
	if err := d.validateBFD(); err != nil {
		return err
	}
	return d.validatePorts()
}

func (d Desired) validatePorts() error {
	names := map[string]bool{d.Bridge: true}
	ofports := map[int]string{}
	check := func(kind, name string, ofport int) error {
		if err := checkName(kind, name); err != nil {
			return err
		}
		if names[name] {
			return fmt.Errorf("%s %q: name already used by the bridge or another port", kind, name)
		}
		names[name] = true
		if ofport < 0 || ofport > maxOFPort {
			return fmt.Errorf("%s %q: ofport %d out of range 0..%d", kind, name, ofport, maxOFPort)
		}
		if other, dup := ofports[ofport]; dup && ofport != 0 {
			return fmt.Errorf("%s %q: ofport %d already requested by %q", kind, name, ofport, other)
		}
		ofports[ofport] = name
		return nil
	}
	udp := map[int]string{}
	for _, t := range d.Tunnels {
		if err := check("tunnel port", t.Name, t.OFPort); err != nil {
			return err
		}
		if t.DstPort < 1 || t.DstPort > 65535 {
			return fmt.Errorf("tunnel port %q: UDP port %d out of range 1..65535", t.Name, t.DstPort)
		}
		// OVS refuses a second tunnel of the same type and key on one UDP port.
		if other, dup := udp[t.DstPort]; dup {
			return fmt.Errorf("tunnel port %q: UDP port %d already used by %q", t.Name, t.DstPort, other)
		}
		udp[t.DstPort] = t.Name
	}
	for _, p := range d.AccessPorts {
		if err := check("access port", p.Name, p.OFPort); err != nil {
			return err
		}
	}
	for _, s := range d.BFD {
		if err := check("BFD port", BFDPortName(s.OFPort), s.OFPort); err != nil {
			return err
		}
	}
	return nil
}

func checkName(kind, name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%s name is empty", kind)
	case len(name) > maxIfName:
		return fmt.Errorf("%s name %q longer than %d bytes", kind, name, maxIfName)
	case strings.ContainsAny(name, "/ \t\n:"):
		return fmt.Errorf("%s name %q contains '/', ':' or white space", kind, name)
	}
	return nil
}

// datapathIDString is the form ovs-vswitchd accepts in other_config.
func datapathIDString(id uint64) string { return fmt.Sprintf("%016x", id) }

// tunnelOptions are the Interface options of a flow-based tunnel port:
// the remote RLOC and the 24-bit key come from each flow (set_field tun_dst
// / tun_id). A GPE port keeps packet_type=legacy_l2 (OVS's default, made
// explicit): it carries Ethernet frames only, so OVS writes Next Protocol
// 0x03 (Ethernet) and drops anything else it receives; legacy_l3 would
// strip the Ethernet header and ptap would let other packet types through.
func tunnelOptions(local netip.Addr, t Tunnel) map[string]string {
	o := map[string]string{
		"dst_port":  fmt.Sprint(t.DstPort),
		"remote_ip": "flow",
		"key":       "flow",
		"local_ip":  local.Unmap().String(),
	}
	if t.GPE {
		o["exts"] = "gpe"
		o["packet_type"] = "legacy_l2"
	}
	return o
}

// Change is one difference Apply found and fixed.
type Change struct {
	Op     string // "insert", "update" or "delete"
	Table  string // OVSDB table
	Name   string // row name (bridge, port, interface, controller target)
	Detail string // columns touched, for logs
}

func (c Change) String() string {
	s := c.Op + " " + c.Table + " " + c.Name
	if c.Detail != "" {
		s += " (" + c.Detail + ")"
	}
	return s
}

// Changes lists what one Apply did; empty when the switch already held the
// desired state.
type Changes []Change

func (cs Changes) String() string {
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = c.String()
	}
	return strings.Join(parts, "; ")
}
