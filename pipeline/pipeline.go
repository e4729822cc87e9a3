package pipeline

import (
	"cmp"
	"net/netip"
	"slices"

	"github.com/l2lisp/l2lisp/mapping"
	"github.com/l2lisp/l2lisp/southbound/openflow"
)

// Tables of the edge pipeline (docs/pipeline.md). They are spaced so later
// stages (ACLs, egress) can slot in without renumbering the existing ones.
const (
	TableClassifier uint8 = 0  // in_port (+ tun_id) → instance-id in metadata
	TableLearn      uint8 = 10 // source learning: known sources pass, others are marked for punting
	TableResponder  uint8 = 20 // ARP responder for bound IP EIDs
	TableL2Forward  uint8 = 30 // eth_dst lookup per instance-id, flooding on miss
	TablePunt       uint8 = 40 // metered packet-in of marked frames, after forwarding
)

// Pipeline stages, the middle byte of every flow cookie
// (openflow.StageCookie). Stage 0 is left unused so that an owner cookie
// with a zero stage stands out as foreign or corrupt.
const (
	StageClassifier   uint8 = 1 // table 0: classification and its table-miss drop
	StageLearn        uint8 = 2 // table 10
	StageResponder    uint8 = 3 // table 20
	StageL2Forward    uint8 = 4 // table 30: known unicast destinations and table-miss drop
	StageSplitHorizon uint8 = 5 // table 30: drop tunnel frames bound for a remote EID
	StageFlood        uint8 = 6 // table 30: broadcast, multicast and unknown unicast
	StagePunt         uint8 = 7 // table 40: packet-in of frames marked in table 10
)

// Metadata layout written by the classifier: the instance-id in the low 24
// bits and one bit saying where the frame came from, for split horizon.
const (
	MetaIIDMask    uint64 = mapping.MaxIID // bits 0-23
	MetaFromLocal  uint64 = 1 << 24        // received on an access port
	MetaFromTunnel uint64 = 1 << 25        // received from the LISP tunnel
	MetaMask       uint64 = MetaIIDMask | MetaFromLocal | MetaFromTunnel
	// MetaPunt is set by table 10 on frames the controller should see (an
	// unknown source, ARP or ND); table 40 sends them after forwarding.
	MetaPunt uint64 = 1 << 26
)

// Flow priorities.
const (
	PriorityClassify  uint16 = 100
	PriorityUnicast   uint16 = 100
	PriorityFlood     uint16 = 1
	PriorityTableMiss uint16 = 0
)

// Group id scheme, inside the range that marks a group as ours
// (openflow.GroupOwnedBase, 2^29 ids). Flood groups are FloodGroupID(iid,
// kind) = FloodGroupBase | iid<<2 | kind: 24-bit iid, 2-bit kind. Select
// groups for equal-priority locator sets live in [SelectGroupBase,
// SelectGroupBase+2^28) and are derived from a hash of (iid, locator set),
// so the two ranges never meet and an id does not move when unrelated
// records come and go.
const (
	GroupKindFlood      uint32 = 1 // from a local port: local ports + head-end replication
	GroupKindFloodLocal uint32 = 2 // local ports only: from the tunnel, local EID on an unknown port
	SelectGroupBase     uint32 = openflow.GroupOwnedBase
	selectGroupSpan     uint32 = 1 << 28
	FloodGroupBase      uint32 = openflow.GroupOwnedBase + selectGroupSpan
)

// FloodGroupID is the id of the flood group of one kind for an instance-id.
func FloodGroupID(iid, kind uint32) uint32 { return FloodGroupBase | iid<<2 | kind }

// Compile computes the flows and groups of one edge switch from its view.
// It is a pure function: the output is sorted (flows by table, descending
// priority and match; groups by id) so that the same view always gives the
// same output and diffs against the switch are stable.
func Compile(v SwitchView) ([]openflow.Flow, []openflow.GroupEntry) {
	c := newCompiler(v)
	c.classify()
	c.learn()
	c.respond()
	c.onDemandBindings()
	c.flood()
	for _, r := range c.records() {
		c.forward(r)
	}
	c.add(TableL2Forward, PriorityTableMiss, StageL2Forward, nil, nil)
	c.punt()
	return c.result()
}

// compiler holds the normalised view and the output being built.
type compiler struct {
	v        SwitchView
	rloc     netip.Addr
	iids     []uint32              // served instance-ids, sorted, unique
	served   map[uint32]bool       // same set, for lookups
	tunnel   map[uint32]uint32     // tunnel port of each served iid's encapsulation; 0: none
	ports    map[uint32][]PortView // usable access ports per iid, by OFPort
	byName   map[string]PortView   // usable access ports by name
	flows    []openflow.Flow
	groups   map[uint32]openflow.GroupEntry
	selectID map[string]uint32      // (iid, locator set) key → select group id
	macs     map[mapping.EID]bool   // MAC EIDs with a record in the view (present), built on first use
	presence func(mapping.EID) bool // overrides macs (Incremental: the MAC parts)
	mh       multihome              // the site's other xTRs, designated forwarders
}

func newCompiler(v SwitchView) *compiler {
	c := &compiler{
		v:        v,
		rloc:     v.RLOC.Unmap(),
		served:   make(map[uint32]bool),
		tunnel:   make(map[uint32]uint32),
		ports:    make(map[uint32][]PortView),
		byName:   make(map[string]PortView),
		groups:   make(map[uint32]openflow.GroupEntry),
		selectID: make(map[string]uint32),
		mh:       newMultihome(v),
	}
	for _, iid := range v.Networks {
		if iid <= mapping.MaxIID && !c.served[iid] {
			c.served[iid] = true
			c.iids = append(c.iids, iid)
			c.tunnel[iid] = v.tunnelPort(v.Encaps[iid])
		}
	}
	slices.Sort(c.iids)
	c.indexPorts()
	return c
}

// indexPorts keeps the access ports that can carry traffic: a real OpenFlow
// port number, not a tunnel, bound to a served iid. A port number listed
// twice keeps its first entry in (OFPort, Name, IID) order, so a view that
// momentarily disagrees with itself still compiles deterministically.
func (c *compiler) indexPorts() {
	ps := slices.Clone(c.v.Ports)
	slices.SortFunc(ps, func(a, b PortView) int {
		return cmp.Or(cmp.Compare(a.OFPort, b.OFPort), cmp.Compare(a.Name, b.Name), cmp.Compare(a.IID, b.IID))
	})
	var last uint32
	for _, p := range ps {
		if p.OFPort == 0 || p.OFPort > 0xffffff00 || p.OFPort == c.v.TunnelPort || p.OFPort == c.v.VXLANPort ||
			p.OFPort == last || !c.served[p.IID] {
			continue
		}
		last = p.OFPort
		c.ports[p.IID] = append(c.ports[p.IID], p)
		if _, dup := c.byName[p.Name]; !dup && p.Name != "" {
			c.byName[p.Name] = p
		}
	}
}

// add appends one flow; actions nil and goto 0 make a drop flow.
func (c *compiler) add(table uint8, prio uint16, stage uint8, m openflow.Match, acts []openflow.Action) *openflow.Flow {
	c.flows = append(c.flows, openflow.Flow{
		Table: table, Priority: prio, Cookie: openflow.StageCookie(stage), Match: m, Actions: acts,
	})
	return &c.flows[len(c.flows)-1]
}

// classify builds table 0: access ports by in_port, tunnel frames by
// in_port + tun_id of a served iid, the in_port being the tunnel of that
// iid's encapsulation. Anything else, including a tun_id the site does not
// serve or one arriving in another encapsulation, hits the table-miss drop.
func (c *compiler) classify() {
	for _, iid := range c.iids {
		for _, p := range c.ports[iid] {
			f := c.add(TableClassifier, PriorityClassify, StageClassifier,
				openflow.Match{openflow.InPort(p.OFPort)}, nil)
			f.WriteMeta = &openflow.MetadataWrite{Value: uint64(iid) | MetaFromLocal, Mask: MetaMask}
			f.Goto = TableLearn
		}
		tun := c.tunnel[iid]
		if tun == 0 {
			continue // tunnel port not created yet
		}
		f := c.add(TableClassifier, PriorityClassify, StageClassifier,
			openflow.Match{openflow.InPort(tun), openflow.TunnelID(uint64(iid))}, nil)
		f.WriteMeta = &openflow.MetadataWrite{Value: uint64(iid) | MetaFromTunnel, Mask: MetaMask}
		f.Goto = TableLearn
	}
	c.classifyBFD()
	c.add(TableClassifier, PriorityTableMiss, StageClassifier, nil, nil)
}

// metaMatch matches an iid and, when from is non-zero, the source bit.
func metaMatch(iid uint32, from uint64) openflow.OXM {
	return openflow.Metadata(uint64(iid)|from, MetaIIDMask|from)
}

// result sorts the output: flows by table, priority (highest first) and
// match; groups by id. Keys are unique, and emission order (already
// deterministic) breaks ties should a bug ever produce a duplicate.
func (c *compiler) result() ([]openflow.Flow, []openflow.GroupEntry) {
	type keyed struct {
		key string
		i   int
	}
	ks := make([]keyed, len(c.flows))
	for i, f := range c.flows {
		ks[i] = keyed{f.Match.Key(), i}
	}
	slices.SortFunc(ks, func(a, b keyed) int {
		fa, fb := &c.flows[a.i], &c.flows[b.i]
		return cmp.Or(cmp.Compare(fa.Table, fb.Table), cmp.Compare(fb.Priority, fa.Priority),
			cmp.Compare(a.key, b.key), cmp.Compare(a.i, b.i))
	})
	flows := make([]openflow.Flow, len(ks))
	for i, k := range ks {
		flows[i] = c.flows[k.i]
	}
	groups := make([]openflow.GroupEntry, 0, len(c.groups))
	for _, g := range c.groups {
		groups = append(groups, g)
	}
	slices.SortFunc(groups, func(a, b openflow.GroupEntry) int { return cmp.Compare(a.ID, b.ID) })
	return flows, groups
}
