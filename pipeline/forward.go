package pipeline

import (
	"cmp"
	"encoding/binary"
	"hash/fnv"
	"net/netip"
	"slices"

	"github.com/l2lisp/l2lisp/mapping"
	"github.com/l2lisp/l2lisp/southbound/openflow"
)

// tunnelEncap is the action list that encapsulates a frame to one RLOC
// through tunnel, the port of the iid's encapsulation: the port's type
// writes the header (LISP-GPE or VXLAN), tun_id its 24-bit instance-id.
func tunnelEncap(iid uint32, rloc netip.Addr, tunnel uint32) []openflow.Action {
	return []openflow.Action{
		openflow.SetField{Field: openflow.TunnelID(uint64(iid))},
		openflow.SetField{Field: openflow.TunDst(rloc)},
		openflow.Output{Port: tunnel},
	}
}

// reachable says whether a remote RLOC can be an encapsulation target: a
// valid address other than our own, of the family of our RLOC (the tunnel
// port has a single local_ip, so it cannot reach the other family).
func (c *compiler) reachable(a netip.Addr) bool {
	if !a.IsValid() || a == c.rloc {
		return false
	}
	return !c.rloc.IsValid() || a.Is4() == c.rloc.Is4()
}

// peers is the sorted, de-duplicated list of usable head-end replication
// targets of an iid.
func (c *compiler) peers(iid uint32) []netip.Addr {
	var out []netip.Addr
	for _, a := range c.v.Peers[iid] {
		// Mates share the site's LANs: they have seen the frame already.
		if a = a.Unmap(); c.reachable(a) && !c.mh.rlocs[a] {
			out = append(out, a)
		}
	}
	slices.SortFunc(out, netip.Addr.Compare)
	return slices.Compact(out)
}

// flood builds, per served iid with local ports, the two flood groups and
// the table-miss flows of table 30 that use them. Split horizon: a frame
// from the tunnel is flooded to local ports only, never back into the
// tunnel. An iid without local ports gets nothing: no frame can come from a
// local port, and a tunnel frame would have nowhere to go (table-miss drop).
func (c *compiler) flood() {
	for _, iid := range c.iids {
		ports := c.ports[iid]
		if len(ports) == 0 {
			continue
		}
		if !c.floods(iid) {
			c.dropBUM(iid)
			continue
		}
		local := make([]openflow.Bucket, 0, len(ports))
		for _, p := range ports {
			local = append(local, openflow.Bucket{Actions: []openflow.Action{openflow.Output{Port: p.OFPort}}})
		}
		all := slices.Clone(local)
		if tun := c.tunnel[iid]; tun != 0 {
			for _, a := range c.peers(iid) {
				all = append(all, openflow.Bucket{Actions: tunnelEncap(iid, a, tun)})
			}
		}
		c.addGroup(FloodGroupID(iid, GroupKindFlood), openflow.GroupAll, all)
		c.addGroup(FloodGroupID(iid, GroupKindFloodLocal), openflow.GroupAll, local)
		c.add(TableL2Forward, PriorityFlood, StageFlood, openflow.Match{metaMatch(iid, MetaFromLocal)},
			[]openflow.Action{openflow.Group{ID: FloodGroupID(iid, GroupKindFlood)}})
		c.add(TableL2Forward, PriorityFlood, StageFlood, openflow.Match{metaMatch(iid, MetaFromTunnel)},
			[]openflow.Action{openflow.Group{ID: FloodGroupID(iid, GroupKindFloodLocal)}})
		if c.onDemand(iid) {
			c.miss(iid)
		}
	}
}

func (c *compiler) addGroup(id uint32, t openflow.GroupType, buckets []openflow.Bucket) {
	c.groups[id] = openflow.GroupEntry{ID: id, Type: t, Buckets: buckets}
}

// records returns the MAC EID records of served iids, sorted by EID, one per
// EID. Should the view hold two records for one EID, the highest Version
// wins and the remaining fields break ties, so input order never matters.
// Pointers keep the sort cheap; the records are only read.
func (c *compiler) records() []*mapping.Record {
	rs := make([]*mapping.Record, 0, len(c.v.Records))
	for i := range c.v.Records {
		r := &c.v.Records[i]
		if r.EID.Family() == mapping.FamilyMAC && !r.EID.MAC.IsMulticast() && c.served[r.EID.IID] {
			rs = append(rs, r)
		}
	}
	slices.SortFunc(rs, recordOrder)
	return slices.CompactFunc(rs, func(a, b *mapping.Record) bool { return a.EID == b.EID })
}

func recordOrder(a, b *mapping.Record) int {
	return cmp.Or(
		cmp.Compare(a.EID.IID, b.EID.IID),
		cmp.Compare(a.EID.MAC.Uint64(), b.EID.MAC.Uint64()),
		cmp.Compare(b.Version, a.Version),
		cmp.Compare(a.XTR, b.XTR),
		cmp.Compare(a.Port, b.Port),
		cmp.Compare(a.Site, b.Site),
		cmp.Compare(a.Origin, b.Origin),
		slices.CompareFunc(a.Locators, b.Locators, locatorOrder),
		a.UpdatedAt.Compare(b.UpdatedAt),
		cmp.Compare(a.TTL, b.TTL),
		cmp.Compare(flag(a.Frozen), flag(b.Frozen)),
		cmp.Compare(flag(a.NoProxy), flag(b.NoProxy)),
		cmp.Compare(a.MAC.Uint64(), b.MAC.Uint64()),
	)
}

func flag(b bool) int {
	if b {
		return 1
	}
	return 0
}

func locatorOrder(a, b mapping.Locator) int {
	up := func(l mapping.Locator) int {
		if l.Up {
			return 1
		}
		return 0
	}
	return cmp.Or(a.Addr.Compare(b.Addr), cmp.Compare(a.Priority, b.Priority),
		cmp.Compare(a.Weight, b.Weight), cmp.Compare(up(a), up(b)))
}

// isLocal says whether the EID sits behind this xTR.
func (c *compiler) isLocal(r *mapping.Record) bool {
	if (c.v.XTR != "" && r.XTR == c.v.XTR) || c.heldByMate(r) {
		return true
	}
	if !c.rloc.IsValid() {
		return false
	}
	return slices.ContainsFunc(r.Locators, func(l mapping.Locator) bool { return l.Addr.Unmap() == c.rloc })
}

// forward emits the table-30 flows of one MAC record. Local EIDs go to their
// port (or the local-only flood group when the port is unknown or bound to
// another iid); remote EIDs are encapsulated towards the best locators, and
// the same destination arriving from the tunnel is dropped (split horizon).
// A remote EID with no usable locator gets no flow: its frames are flooded
// as unknown unicast, which lets a host that moved be found again.
func (c *compiler) forward(r *mapping.Record) {
	iid, mac := r.EID.IID, [6]byte(r.EID.MAC)
	if c.mh.on && c.isLocal(r) {
		c.forwardSiteHost(r)
		return
	}
	if c.isLocal(r) {
		var acts []openflow.Action
		if p, ok := c.byName[r.Port]; ok && p.IID == iid {
			acts = []openflow.Action{openflow.Output{Port: p.OFPort}}
		} else if id := FloodGroupID(iid, GroupKindFloodLocal); c.hasGroup(id) {
			acts = []openflow.Action{openflow.Group{ID: id}}
		} else {
			return // no local port at all: nothing to deliver to
		}
		c.add(TableL2Forward, PriorityUnicast, StageL2Forward,
			openflow.Match{metaMatch(iid, 0), openflow.EthDst(mac)}, acts)
		return
	}
	tun := c.tunnel[iid]
	if tun == 0 {
		return
	}
	best := c.bestLocators(r.Locators)
	var acts []openflow.Action
	switch len(best) {
	case 0:
		return
	case 1:
		acts = tunnelEncap(iid, best[0].Addr, tun)
	default:
		acts = []openflow.Action{openflow.Group{ID: c.selectGroup(iid, best)}}
	}
	f := c.add(TableL2Forward, PriorityUnicast, StageL2Forward,
		openflow.Match{metaMatch(iid, MetaFromLocal), openflow.EthDst(mac)}, acts)
	if c.onDemand(iid) {
		// A map-cache entry: one flow, no split-horizon drop (a tunnel
		// frame for a remote host is flooded locally, as for any remote
		// host not in the cache).
		c.cached(f)
		return
	}
	c.add(TableL2Forward, PriorityUnicast, StageSplitHorizon,
		openflow.Match{metaMatch(iid, MetaFromTunnel), openflow.EthDst(mac)}, nil)
}

func (c *compiler) hasGroup(id uint32) bool {
	_, ok := c.groups[id]
	return ok
}

// bestLocators picks the reachable locators of the best usable priority,
// sorted by address with duplicates removed. Weights follow RFC 9301: if all
// are zero the load is split evenly (weight 1 each); otherwise a zero-weight
// locator takes no traffic and is left out.
func (c *compiler) bestLocators(ls []mapping.Locator) []mapping.Locator {
	usable := make([]mapping.Locator, 0, len(ls))
	for _, l := range ls {
		if l.Addr = l.Addr.Unmap(); c.reachable(l.Addr) {
			usable = append(usable, c.withState(l))
		}
	}
	best := mapping.BestLocators(usable)
	slices.SortFunc(best, func(a, b mapping.Locator) int {
		return cmp.Or(a.Addr.Compare(b.Addr), cmp.Compare(b.Weight, a.Weight))
	})
	best = slices.CompactFunc(best, func(a, b mapping.Locator) bool { return a.Addr == b.Addr })
	if !slices.ContainsFunc(best, func(l mapping.Locator) bool { return l.Weight != 0 }) {
		for i := range best {
			best[i].Weight = 1
		}
		return best
	}
	return slices.DeleteFunc(best, func(l mapping.Locator) bool { return l.Weight == 0 })
}

// selectGroup returns the id of the SELECT group spreading iid's traffic
// over the locators (sorted, de-duplicated, two or more), creating it on
// first use. The id comes from an FNV-1a hash of the iid and the
// (address, weight) pairs; on a collision the next free id is probed.
// Records are visited in a fixed order, so probing is deterministic too.
func (c *compiler) selectGroup(iid uint32, best []mapping.Locator) uint32 {
	key := binary.BigEndian.AppendUint32(make([]byte, 0, 4+17*len(best)), iid)
	for _, l := range best {
		a := l.Addr.As16()
		key = append(append(key, a[:]...), l.Weight)
	}
	if id, ok := c.selectID[string(key)]; ok {
		return id
	}
	h := fnv.New32a()
	h.Write(key)
	off := h.Sum32() % selectGroupSpan
	for c.hasGroup(SelectGroupBase + off) {
		off = (off + 1) % selectGroupSpan
	}
	id := SelectGroupBase + off
	buckets := make([]openflow.Bucket, len(best))
	for i, l := range best {
		buckets[i] = openflow.Bucket{Weight: uint16(l.Weight), WatchPort: c.watchPort(l.Addr),
			Actions: tunnelEncap(iid, l.Addr, c.tunnel[iid])}
	}
	c.addGroup(id, openflow.GroupSelect, buckets)
	c.selectID[string(key)] = id
	return id
}
