package openflow

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"

	"github.com/l2lisp/l2lisp/southbound/openflow/ofp13"
)

// Switch is one datapath. It outlives its connections: when the switch
// reconnects, the same Switch gets the new connection and the next Sync
// starts over from what the switch reports.
type Switch struct {
	srv  *Server
	dpid uint64
	log  *slog.Logger

	mu      sync.Mutex
	c       *conn // nil while disconnected
	pending *conn // admitted, finishing its handshake
	last    *conn // the latest connection attached, possibly being torn down

	syncMu sync.Mutex // one Sync or meter change at a time
	stMu   sync.Mutex
	st     *flowState // what we believe is installed over connection st.c

	flowMods  atomic.Uint64
	groupMods atomic.Uint64
}

// DPID is the datapath id.
func (sw *Switch) DPID() uint64 { return sw.dpid }

// Connected reports whether the switch has a live connection.
func (sw *Switch) Connected() bool { return sw.conn() != nil }

// FlowModsSent counts the flow-mods sent to this switch over its lifetime.
func (sw *Switch) FlowModsSent() uint64 { return sw.flowMods.Load() }

// GroupModsSent counts the group-mods sent to this switch over its lifetime.
func (sw *Switch) GroupModsSent() uint64 { return sw.groupMods.Load() }

// FlowCount is the number of our flows believed installed (0 before the
// first Sync on the current connection).
func (sw *Switch) FlowCount() int {
	sw.stMu.Lock()
	defer sw.stMu.Unlock()
	if sw.st == nil {
		return 0
	}
	return len(sw.st.flows)
}

func (sw *Switch) conn() *conn {
	sw.mu.Lock()
	defer sw.mu.Unlock()
	return sw.c
}

func (sw *Switch) live() (*conn, error) {
	if c := sw.conn(); c != nil {
		return c, nil
	}
	return nil, fmt.Errorf("switch %016x: %w", sw.dpid, ErrDisconnected)
}

// detach forgets connection c and whatever we believed it had installed.
func (sw *Switch) detach(c *conn) {
	sw.mu.Lock()
	if sw.c == c {
		sw.c = nil
	}
	sw.mu.Unlock()
	sw.stMu.Lock()
	if sw.st != nil && sw.st.c == c {
		sw.st = nil
	}
	sw.stMu.Unlock()
}

// release gives up the claim of a connection whose handshake failed.
func (sw *Switch) release(c *conn) {
	sw.mu.Lock()
	if sw.pending == c {
		sw.pending = nil
	}
	sw.mu.Unlock()
}

// RemoteAddr is the switch's address, or nil while disconnected.
func (sw *Switch) RemoteAddr() net.Addr {
	if c := sw.conn(); c != nil {
		return c.nc.RemoteAddr()
	}
	return nil
}

// PacketOut sends data out of the switch through actions, as if it had
// arrived on inPort (0 means the controller port). Errors the switch reports
// later are logged, not returned, to keep this path fast.
func (sw *Switch) PacketOut(ctx context.Context, inPort uint32, actions []Action, data []byte) error {
	c, err := sw.live()
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	acts, err := wireActions(actions)
	if err != nil {
		return fmt.Errorf("packet-out: %w", err)
	}
	if inPort == 0 {
		inPort = PortController
	}
	po := &ofp13.PacketOut{BufferID: ofp13.NoBuffer, InPort: inPort, Actions: acts, Data: data}
	if err := c.send(c.nextXID(), po); err != nil {
		return fmt.Errorf("packet-out: %w", err)
	}
	return nil
}

// SetRole asks the switch for role on its current connection (see
// claimRole); it returns the role the switch granted. Server.SetRole is
// the way to change the role of every switch, now and on reconnection.
func (sw *Switch) SetRole(ctx context.Context, role Role, generationID uint64) (Role, error) {
	c, err := sw.live()
	if err != nil {
		return 0, err
	}
	return claimRole(ctx, c, role, generationID)
}

// Role is the role the switch granted on its current connection (0 while
// disconnected).
func (sw *Switch) Role() Role {
	if c := sw.conn(); c != nil {
		return c.grantedRole()
	}
	return 0
}

// FlowStats is a flow as the switch reports it, with its counters.
type FlowStats struct {
	Flow
	DurationSec, DurationNsec uint32
	PacketCount, ByteCount    uint64
}

// DumpFlows reads the switch's flows whose cookie matches cookie under mask
// (mask 0: every flow), following multipart replies to the end.
func (sw *Switch) DumpFlows(ctx context.Context, cookie, mask uint64) ([]FlowStats, error) {
	c, err := sw.live()
	if err != nil {
		return nil, err
	}
	return dumpFlows(ctx, c, cookie, mask)
}

func dumpFlows(ctx context.Context, c *conn, cookie, mask uint64) ([]FlowStats, error) {
	parts, err := c.multipart(ctx, &ofp13.FlowStatsRequest{Table: ofp13.TableAll, OutPort: ofp13.PortAny,
		OutGroup: ofp13.GroupAny, Cookie: cookie, CookieMask: mask})
	if err != nil {
		return nil, fmt.Errorf("dump flows: %w", err)
	}
	var out []FlowStats
	for _, p := range parts {
		r, ok := p.(*ofp13.FlowStatsReply)
		if !ok {
			return nil, fmt.Errorf("dump flows: unexpected reply %T", p)
		}
		for _, s := range r.Stats {
			f := flowFromWire(s.Table, s.Priority, s.Cookie, s.Match, s.Instructions)
			f.IdleTimeout, f.HardTimeout = s.IdleTimeout, s.HardTimeout
			f.NotifyRemoval = s.Flags&ofp13.FlagSendFlowRem != 0
			out = append(out, FlowStats{Flow: f, DurationSec: s.DurationSec, DurationNsec: s.DurationNs,
				PacketCount: s.PacketCount, ByteCount: s.ByteCount})
		}
	}
	return out, nil
}

// DumpGroups reads every group of the switch.
func (sw *Switch) DumpGroups(ctx context.Context) ([]GroupEntry, error) {
	c, err := sw.live()
	if err != nil {
		return nil, err
	}
	return dumpGroups(ctx, c)
}

func dumpGroups(ctx context.Context, c *conn) ([]GroupEntry, error) {
	parts, err := c.multipart(ctx, &ofp13.GroupDescRequest{})
	if err != nil {
		return nil, fmt.Errorf("dump groups: %w", err)
	}
	var out []GroupEntry
	for _, p := range parts {
		r, ok := p.(*ofp13.GroupDescReply)
		if !ok {
			return nil, fmt.Errorf("dump groups: unexpected reply %T", p)
		}
		for _, g := range r.Groups {
			out = append(out, groupFromWire(g))
		}
	}
	return out, nil
}

// Port is one switch port as the port description reports it.
type Port struct {
	Number    uint32
	Name      string
	HWAddr    net.HardwareAddr
	AdminDown bool // OFPPC_PORT_DOWN
	LinkDown  bool // OFPPS_LINK_DOWN
}

// Ports reads the switch's port descriptions.
func (sw *Switch) Ports(ctx context.Context) ([]Port, error) {
	c, err := sw.live()
	if err != nil {
		return nil, err
	}
	parts, err := c.multipart(ctx, &ofp13.PortDescRequest{})
	if err != nil {
		return nil, fmt.Errorf("port description: %w", err)
	}
	var out []Port
	for _, p := range parts {
		r, ok := p.(*ofp13.PortDescReply)
		if !ok {
			return nil, fmt.Errorf("port description: unexpected reply %T", p)
		}
		for _, pt := range r.Ports {
			out = append(out, Port{Number: pt.PortNo, Name: pt.Name, HWAddr: net.HardwareAddr(pt.HWAddr[:]),
				AdminDown: pt.Config&1 != 0, LinkDown: pt.State&1 != 0})
		}
	}
	return out, nil
}
