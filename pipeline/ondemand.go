package pipeline

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/l2lisp/l2lisp/mapping"
	"github.com/l2lisp/l2lisp/southbound/openflow"
)

// Mode is how the remote hosts of a network get into a switch's flow
// table (docs/pipeline.md, "On-demand forwarding").
type Mode uint8

// The forwarding modes. The zero value is the default.
const (
	// ModePush installs every remote host of the network on every switch
	// that serves it.
	ModePush Mode = iota
	// ModeOnDemand installs a remote host on a switch only once a local
	// host sends to it: the frame that finds no flow is flooded as unknown
	// unicast and copied (metered) to the controller, which installs the
	// host's flow with an idle timeout. The view's remote MAC records are
	// the switch's map-cache.
	ModeOnDemand
	numModes
)

var modeNames = [numModes]string{"push", "on-demand"}

// String is the name the API and the database use.
func (m Mode) String() string {
	if m < numModes {
		return modeNames[m]
	}
	return fmt.Sprintf("mode(%d)", uint8(m))
}

// ParseMode reads a mode name; the empty string is the default.
func ParseMode(s string) (Mode, error) {
	if s == "" {
		return ModePush, nil
	}
	for i, n := range modeNames {
		if s == n {
			return Mode(i), nil
		}
	}
	return ModePush, fmt.Errorf("unknown forwarding mode %q: want %s", s, strings.Join(modeNames[:], " or "))
}

func sameModes(a, b map[uint32]Mode) bool {
	for iid, m := range a {
		if b[iid] != m {
			return false
		}
	}
	for iid, m := range b {
		if a[iid] != m {
			return false
		}
	}
	return true
}

// MapCacheView tunes the flows of on-demand networks.
type MapCacheView struct {
	// IdleTimeout is how long (seconds) an installed remote host may go
	// unused before the switch removes it and tells the controller; 0:
	// never (the controller still evicts at its cap).
	IdleTimeout uint16
	Meter       bool   // meter the copies of missed frames (meter MissMeter)
	MissLen     uint16 // bytes of a missed frame sent; 0: PuntMaxLen
}

// Stages, metadata, priorities and meter of on-demand forwarding.
const (
	// StageMapCache marks the flow of a remote host installed on demand,
	// so that a controller taking over reads the map-cache back from the
	// switch (the only place it lives).
	StageMapCache uint8 = 8
	// StageMiss marks the unknown-unicast flows of table 30 that flag a
	// miss, and the table-40 flow that sends it to the controller.
	StageMiss uint8 = 9
	// MetaMiss is set by table 30 on unknown unicast from an access port
	// of an on-demand network; table 40 sends a metered copy.
	MetaMiss uint64 = 1 << 27
	// PriorityMiss is above the flood flows (1), so unknown unicast is
	// flooded as before and also flagged; broadcast and multicast are not.
	PriorityMiss     uint16 = 2
	PriorityMissPunt uint16 = 90 // table 40, under the learning punt (100)
	// MissMeter is the one meter of a switch's misses; access ports' meters
	// are their port numbers (FirstAccessOFPort and up).
	MissMeter uint32 = 1
)

// unicastMask selects the I/G bit of a MAC: 0 is unicast.
var unicastMask = [6]byte{0x01}

// onDemand says whether served instance-id iid forwards on demand.
func (c *compiler) onDemand(iid uint32) bool { return c.v.Modes[iid] == ModeOnDemand && c.served[iid] }

// missing says whether some on-demand network of the view has local ports:
// then tables 30 and 40 flag and send misses, and the ND/ARP responder's
// no-answer flows are in place for the answers installed on demand.
func (c *compiler) missing() bool {
	for _, iid := range c.iids {
		if c.onDemand(iid) && len(c.ports[iid]) > 0 {
			return true
		}
	}
	return false
}

// miss adds, for an on-demand iid with local ports, the table-30 flow that
// floods unknown unicast from a local port (as the flood flow would) and
// flags it for table 40.
func (c *compiler) miss(iid uint32) {
	f := c.add(TableL2Forward, PriorityMiss, StageMiss, openflow.Match{metaMatch(iid, MetaFromLocal),
		openflow.EthDstMasked([6]byte{}, unicastMask)}, []openflow.Action{openflow.Group{ID: FloodGroupID(iid, GroupKindFlood)}})
	f.WriteMeta = &openflow.MetadataWrite{Value: MetaMiss, Mask: MetaMiss}
	f.Goto = TablePunt
}

// missPunt is table 40's flow that sends a flagged miss to the controller,
// through the switch's miss meter.
func (c *compiler) missPunt() {
	n := c.v.MapCache.MissLen
	if n == 0 {
		n = PuntMaxLen
	}
	f := c.add(TablePunt, PriorityMissPunt, StageMiss, openflow.Match{openflow.Metadata(MetaMiss, MetaMiss)},
		[]openflow.Action{openflow.Controller{MaxLen: n, Reason: openflow.ReasonAction}})
	if c.v.MapCache.Meter {
		f.Meter = MissMeter
	}
}

// cached turns the encapsulation flow of a remote host of an on-demand
// network into a map-cache entry: it idles out, and tells the controller.
func (c *compiler) cached(f *openflow.Flow) {
	f.Cookie = openflow.StageCookie(StageMapCache)
	f.IdleTimeout, f.NotifyRemoval = c.v.MapCache.IdleTimeout, true
}

// present says whether MAC m of iid has a record in the view: in an
// on-demand network, only then does the responder answer for the
// addresses bound to it (the answers come and go with the host's entry).
func (c *compiler) present(iid uint32, m mapping.MAC) bool {
	if c.presence != nil {
		return c.presence(mapping.MACEID(iid, m))
	}
	if c.macs == nil {
		c.macs = map[mapping.EID]bool{}
		for _, r := range c.records() {
			c.macs[r.EID] = true
		}
	}
	return c.macs[mapping.MACEID(iid, m)]
}

// bindingFlows emits the flows of one IP binding of an on-demand network:
// the known-binding flow of table 10 (learning, local port) and the
// responder's flows of tables 20 and 21.
func (c *compiler) bindingFlows(b *mapping.Record) {
	if c.v.Learn.Enabled && len(c.byName) > 0 {
		c.arpKnown(b)
	}
	if c.answers(b) {
		c.answer(b)
	}
}

// onDemandBindings emits the binding flows of the on-demand networks: those
// whose MAC has a record in the view.
func (c *compiler) onDemandBindings() {
	for _, b := range c.bindings() {
		if c.onDemand(b.EID.IID) && c.present(b.EID.IID, b.MAC) {
			c.bindingFlows(b)
		}
	}
}

// LocalTo says whether record r sits behind the xTR named xtr with RLOC
// rloc: the rule the pipeline uses to tell local hosts from remote ones.
func LocalTo(r *mapping.Record, xtr string, rloc netip.Addr) bool {
	if xtr != "" && r.XTR == xtr {
		return true
	}
	rloc = rloc.Unmap()
	return rloc.IsValid() && slices.ContainsFunc(r.Locators, func(l mapping.Locator) bool { return l.Addr.Unmap() == rloc })
}
