package controller

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"time"

	"gorm.io/gorm"

	"github.com/l2lisp/l2lisp/mapping"
	"github.com/l2lisp/l2lisp/metrics"
	"github.com/l2lisp/l2lisp/pipeline"
	"github.com/l2lisp/l2lisp/store"
)

// Event types of host learning and mobility, besides the mapping.* ones
// that carry records.
const (
	EvMappingConverged = "mapping.converged"         // a move reached every switch
	EvDuplicateCleared = "mapping.duplicate_cleared" // an operator unfroze a MAC
	EvLearnLimit       = "learn.limit"               // a port hit its learned-MAC limit
)

// LearnConfig tunes host learning. Durations are process configuration
// (serve flags), not state: every replica must be started alike.
type LearnConfig struct {
	Enabled     bool
	IdleTimeout time.Duration // silence after which a learned MAC ages out
	MaxPerPort  int           // learned MACs per access port; 0: no limit
	DupMoves    int           // moves within DupWindow that freeze a MAC; 0: never
	DupWindow   time.Duration
	MeterRate   uint32  // packet-ins per second per port, datapath meter; 0: no meter
	MeterBurst  uint32  // packets
	PortRate    float64 // packet-ins per second per port the controller handles
	PortBurst   float64
}

// DefaultLearnConfig is what serve uses unless told otherwise: EVPN's
// duplicate detection defaults (5 moves in 180 s).
func DefaultLearnConfig() LearnConfig {
	return LearnConfig{Enabled: true, IdleTimeout: 300 * time.Second, MaxPerPort: 64,
		DupMoves: 5, DupWindow: 180 * time.Second, MeterRate: 100, MeterBurst: 200,
		PortRate: 200, PortBurst: 400}
}

func (lc LearnConfig) view() pipeline.LearnView {
	if !lc.Enabled {
		return pipeline.LearnView{}
	}
	secs := (lc.IdleTimeout + time.Second - 1) / time.Second
	if secs > 0xffff {
		secs = 0xffff
	}
	return pipeline.LearnView{Enabled: true, IdleTimeout: uint16(secs), Meter: lc.MeterRate > 0}
}

// SetLearnConfig turns learning on or off and tunes it; switches pick the
// change up on their next sync.
func (c *Controller) SetLearnConfig(lc LearnConfig) {
	c.mu.Lock()
	c.learn = lc
	c.mu.Unlock()
}

// LearnConfig returns the learning configuration (learning off if unset).
func (c *Controller) LearnConfig() LearnConfig {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.learn
}

// Sighting is a host seen at an access port: the source MAC of a frame
// and, for ARP and ND, the IP address it announced and the MAC bound to it.
type Sighting struct {
	XTR     string
	Port    string
	IID     uint32
	MAC     mapping.MAC // source MAC of the frame
	IP      netip.Addr  // announced address, invalid if none
	BindMAC mapping.MAC // the MAC the IP belongs to (ARP sha / ND lladdr)
	At      time.Time   // when the packet-in arrived
}

// Verdicts of the learning decision for the MAC of a sighting.
const (
	VerdictNone    = "none"    // already known there
	VerdictLearn   = "learned" // new EID
	VerdictPort    = "port"    // same site, another xTR or port
	VerdictMove    = "moved"   // another site
	VerdictFrozen  = "frozen"  // duplicate: the move is ignored
	VerdictForeign = "foreign" // a static or registered record: not ours to change
	VerdictLimit   = "limit"   // the port's learned-MAC limit is reached
)

// LearnResult says what a sighting changed.
type LearnResult struct {
	Verdict   string
	Record    mapping.Record // the MAC record after the change
	FromSite  string         // for a move
	FromXTR   string
	Duplicate bool  // this move froze the MAC
	Bound     bool  // an IP binding was created or changed
	Pos       int64 // feed position that includes the change
}

// Changed reports whether the sighting wrote anything.
func (r LearnResult) Changed() bool {
	return r.Bound || r.Verdict == VerdictLearn || r.Verdict == VerdictPort || r.Verdict == VerdictMove
}

// decide is the learning rule for a MAC seen at (xtr of site, port).
// mate says that the record's xTR is another live xTR of the same
// multihomed site: the host sits on the LAN both share, and either one
// sees it, so nothing changes (no false moves between the edges).
func decide(old *mapping.Record, site, xtr, port string, mate bool) string {
	switch {
	case old == nil:
		return VerdictLearn
	case old.Origin != mapping.OriginLearned:
		return VerdictForeign
	case old.Site == site && old.XTR == xtr && old.Port == port:
		return VerdictNone
	case old.Site == site && mate:
		return VerdictNone
	case old.Frozen:
		return VerdictFrozen
	case old.Site == site:
		return VerdictPort
	}
	return VerdictMove
}

// known answers a sighting from memory when it changes nothing, so the
// steady trickle of punted ARP costs no database round trip.
func (c *Controller) known(s Sighting, site string) (LearnResult, bool) {
	old, ok := c.idx.Get(mapping.MACEID(s.IID, s.MAC))
	if !ok {
		return LearnResult{}, false
	}
	v := decide(&old, site, s.XTR, s.Port, c.siteMate(s.XTR, old.XTR))
	if v != VerdictNone && v != VerdictFrozen && v != VerdictForeign {
		return LearnResult{}, false
	}
	if s.IP.IsValid() && v != VerdictFrozen && old.Site == site {
		ip, ok := c.idx.Get(hostEID(s.IID, s.IP))
		if !ok || (ip.Origin == mapping.OriginLearned && !bindingCurrent(ip, s, site, c.siteMate(s.XTR, ip.XTR))) {
			return LearnResult{}, false
		}
	}
	return LearnResult{Verdict: v, Record: old}, true
}

func hostEID(iid uint32, a netip.Addr) mapping.EID {
	return mapping.PrefixEID(iid, netip.PrefixFrom(a, a.BitLen()))
}

// bindingCurrent says whether an IP binding already says what a sighting
// does; mate as for decide.
func bindingCurrent(ip mapping.Record, s Sighting, site string, mate bool) bool {
	return ip.MAC == s.BindMAC && ip.Site == site && ((ip.XTR == s.XTR && ip.Port == s.Port) || mate)
}

// Learn records what a sighting teaches: a new MAC EID, a port change, a
// move to another site (with duplicate detection), and an IP binding. All
// changes of one sighting commit together through the change feed.
func (c *Controller) Learn(ctx context.Context, s Sighting) (LearnResult, error) {
	ctx = OrActor(ctx, ActorLearning)
	lc := c.LearnConfig()
	x, err := c.XTR(s.XTR)
	if err != nil {
		return LearnResult{}, err
	}
	if s.MAC.IsMulticast() || s.MAC == (mapping.MAC{}) {
		return LearnResult{Verdict: VerdictNone}, nil
	}
	if res, ok := c.known(s, x.Site); ok {
		return res, nil
	}
	var res LearnResult
	err = c.write(ctx, func(tx *gorm.DB) ([]store.Event, error) {
		res = LearnResult{}
		return c.learnTx(tx, s, x, lc, &res)
	})
	if err != nil {
		return res, fmt.Errorf("learn %s on %s/%s: %w", s.MAC, s.XTR, s.Port, err)
	}
	res.Pos = c.LastEventID()
	switch res.Verdict {
	case VerdictLearn:
		metrics.LearnedEIDs.Inc()
	case VerdictMove:
		metrics.Moves.Inc()
	}
	return res, nil
}

// learnTx is the transaction of Learn.
func (c *Controller) learnTx(tx *gorm.DB, s Sighting, x XTR, lc LearnConfig, res *LearnResult) ([]store.Event, error) {
	now := time.Now().UTC()
	old, err := findRecord(tx, mapping.MACEID(s.IID, s.MAC))
	if err != nil {
		return nil, err
	}
	res.Verdict = decide(old, x.Site, s.XTR, s.Port, old != nil && c.siteMate(s.XTR, old.XTR))
	// Every xTR of the site: remote sites share a multihomed site's
	// traffic among them.
	loc := c.siteLocatorsOf(x.Site)
	if len(loc) == 0 {
		loc = []mapping.Locator{{Addr: x.RLOC, Priority: x.Priority, Weight: x.Weight, Up: true}}
	}
	rec := mapping.Record{EID: mapping.MACEID(s.IID, s.MAC), Locators: loc, TTL: mapping.DefaultTTL,
		Origin: mapping.OriginLearned, Site: x.Site, XTR: s.XTR, Port: s.Port, Version: 1, UpdatedAt: now}
	var evs []store.Event
	switch res.Verdict {
	case VerdictLearn:
		if lc.MaxPerPort > 0 {
			n, err := learnedOnPort(tx, s.XTR, s.Port)
			if err != nil {
				return nil, err
			}
			if n >= int64(lc.MaxPerPort) {
				res.Verdict = VerdictLimit
				return nil, nil
			}
		}
		evs = append(evs, recordEvent(EvMappingCreated, rec, nil))
	case VerdictPort, VerdictMove:
		changed, err := changeTx(tx, s, old, &rec, now, lc, res)
		if err != nil {
			return nil, err
		}
		evs = append(evs, changed...)
	default:
		if old != nil {
			rec = *old
		}
	}
	if res.Verdict == VerdictLearn || res.Verdict == VerdictPort || res.Verdict == VerdictMove {
		if err := saveRow(tx, rec); err != nil {
			return nil, err
		}
	}
	res.Record = rec
	// An address is bound only to a MAC that is at this site: a host
	// announcing the MAC of another site's static (or frozen) host must
	// not pull that host's addresses over.
	if s.IP.IsValid() && res.Verdict != VerdictFrozen && rec.Site == x.Site {
		ev, err := bindIP(tx, s, x, loc, now, func(other string) bool { return c.siteMate(s.XTR, other) })
		if err != nil {
			return nil, err
		}
		if ev != nil {
			res.Bound = true
			evs = append(evs, *ev)
		}
	}
	return evs, nil
}

// changeTx records a known MAC seen on another port or at another site:
// version +1, the move's origin, the duplicate-host rule, and the IP
// bindings that follow the MAC.
func changeTx(tx *gorm.DB, s Sighting, old *mapping.Record, rec *mapping.Record, now time.Time, lc LearnConfig, res *LearnResult) ([]store.Event, error) {
	rec.Version = old.Version + 1
	var extra map[string]any
	var err error
	if res.Verdict == VerdictMove {
		res.FromSite, res.FromXTR = old.Site, old.XTR
		extra = map[string]any{"from_site": old.Site, "from_xtr": old.XTR, "from_port": old.Port,
			"detected_at": s.At.UTC()}
		if res.Duplicate, err = tooManyMoves(tx, rec.EID, now, lc); err != nil {
			return nil, err
		}
		rec.Frozen = res.Duplicate
	}
	typ := map[bool]string{true: EvMappingMoved, false: EvMappingUpdated}[res.Verdict == VerdictMove]
	evs := []store.Event{recordEvent(typ, *rec, extra)}
	bound, err := followMAC(tx, *rec, typ, extra)
	if err != nil {
		return nil, err
	}
	evs = append(evs, bound...)
	if res.Duplicate {
		evs = append(evs, recordEvent(EvMappingDuplicate, *rec, map[string]any{"moves": lc.DupMoves,
			"window_seconds": lc.DupWindow.Seconds(), "from_site": old.Site}))
	}
	return evs, nil
}

// recordEvent is a mapping event whose data is the record plus extra
// fields (the follower decodes the record and ignores the rest).
func recordEvent(typ string, rec mapping.Record, extra map[string]any) store.Event {
	var data any = rec
	if len(extra) > 0 {
		m := map[string]any{}
		b, _ := json.Marshal(rec)
		_ = json.Unmarshal(b, &m)
		for k, v := range extra {
			m[k] = v
		}
		data = m
	}
	ev := newEvent(typ, data)
	ev.InstanceID, ev.EID, ev.Site, ev.XTR = iidPtr(rec.EID.IID), rec.EID.Address(), rec.Site, rec.XTR
	return ev
}

func findRecord(tx *gorm.DB, eid mapping.EID) (*mapping.Record, error) {
	var rows []store.Mapping
	if err := tx.Where("instance_id = ? AND eid = ?", eid.IID, eid.Address()).Limit(1).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("find mapping: %w", err)
	}
	if len(rows) == 0 {
		return nil, nil
	}
	rec, err := recordFromRow(rows[0])
	if err != nil {
		return nil, err
	}
	return &rec, nil
}

func saveRow(tx *gorm.DB, rec mapping.Record) error {
	row := rowFromRecord(rec, time.Time{})
	if err := tx.Save(&row).Error; err != nil {
		return fmt.Errorf("save mapping: %w", err)
	}
	return nil
}

func learnedOnPort(tx *gorm.DB, xtr, port string) (int64, error) {
	var n int64
	err := tx.Model(&store.Mapping{}).Where("xtr = ? AND port = ? AND origin = ? AND family = ?",
		xtr, port, string(mapping.OriginLearned), mapping.FamilyMAC.String()).Count(&n).Error
	if err != nil {
		return 0, fmt.Errorf("count learned: %w", err)
	}
	return n, nil
}

// tooManyMoves counts the EID's moves in the window, this one included,
// from the change feed; moves before an operator's last clear do not
// count. The count is thus rebuilt from the database by any replica.
func tooManyMoves(tx *gorm.DB, eid mapping.EID, now time.Time, lc LearnConfig) (bool, error) {
	if lc.DupMoves <= 0 {
		return false, nil
	}
	var rows []store.Event
	err := tx.Select("type").Where("instance_id = ? AND eid = ? AND type IN ? AND time > ?", eid.IID, eid.Address(),
		[]string{EvMappingMoved, EvDuplicateCleared}, now.Add(-lc.DupWindow)).Order("id").Find(&rows).Error
	if err != nil {
		return false, fmt.Errorf("count moves: %w", err)
	}
	moves := 1
	for _, r := range rows {
		if r.Type == EvDuplicateCleared {
			moves = 1
		} else {
			moves++
		}
	}
	return moves >= lc.DupMoves, nil
}

// followMAC moves the learned IP EIDs bound to a MAC along with it.
func followMAC(tx *gorm.DB, mac mapping.Record, typ string, extra map[string]any) ([]store.Event, error) {
	var rows []store.Mapping
	if err := tx.Where("instance_id = ? AND mac = ? AND origin = ?", mac.EID.IID, mac.EID.MAC.String(),
		string(mapping.OriginLearned)).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("find bindings: %w", err)
	}
	var evs []store.Event
	for _, row := range rows {
		r, err := recordFromRow(row)
		if err != nil {
			return nil, err
		}
		r.Site, r.XTR, r.Port, r.Locators = mac.Site, mac.XTR, mac.Port, mac.Locators
		r.Version++
		r.UpdatedAt = mac.UpdatedAt
		if err := saveRow(tx, r); err != nil {
			return nil, err
		}
		evs = append(evs, recordEvent(typ, r, extra))
	}
	return evs, nil
}

// bindIP records that s.IP belongs to s.BindMAC at the sighting's port,
// unless an operator or a registration owns the address.
func bindIP(tx *gorm.DB, s Sighting, x XTR, loc []mapping.Locator, now time.Time, mate func(string) bool) (*store.Event, error) {
	eid := hostEID(s.IID, s.IP)
	old, err := findRecord(tx, eid)
	if err != nil {
		return nil, err
	}
	rec := mapping.Record{EID: eid, Locators: loc, TTL: mapping.DefaultTTL, Origin: mapping.OriginLearned,
		Site: x.Site, XTR: s.XTR, Port: s.Port, MAC: s.BindMAC, Version: 1, UpdatedAt: now}
	typ := EvMappingCreated
	if old != nil {
		if old.Origin != mapping.OriginLearned || bindingCurrent(*old, s, x.Site, mate(old.XTR)) {
			return nil, nil
		}
		rec.Version = old.Version + 1
		typ = EvMappingUpdated
		if old.Site != rec.Site {
			typ = EvMappingMoved
		}
	}
	if err := checkSiteMayHold(tx, rec, false); err != nil {
		if _, ok := AsError(err); ok {
			return nil, nil // outside what the site may hold: nothing to learn
		}
		return nil, err
	}
	if err := saveRow(tx, rec); err != nil {
		return nil, err
	}
	ev := recordEvent(typ, rec, nil)
	return &ev, nil
}
