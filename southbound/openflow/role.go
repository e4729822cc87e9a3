package openflow

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/l2lisp/l2lisp/southbound/openflow/ofp13"
)

// Several controller replicas share each switch. OpenFlow 1.3 (§6.3.6)
// lets one be MASTER and the others SLAVE: the switch refuses a slave's
// flow-mods and sends it no packet-ins. A MASTER or SLAVE request carries a
// generation-id, and the switch refuses one smaller than the largest it has
// seen (as stale), so a master that was replaced and comes back with its
// old generation-id cannot take over again: the generation-id fences it.

// ErrStaleRole means the switch has seen a larger generation-id: some other
// controller claimed it since. The connection stays, as SLAVE.
var ErrStaleRole = errors.New("openflow: generation-id stale, switch kept as slave")

// roleState is what Server.SetRole last asked for.
type roleState struct {
	set  bool
	role Role
	gen  uint64
}

func roleName(r Role) string {
	switch r {
	case RoleEqual:
		return "equal"
	case RoleMaster:
		return "master"
	case RoleSlave:
		return "slave"
	}
	return "none"
}

// String names the role as OVS does.
func (r Role) String() string { return roleName(r) }

func (c *conn) grantedRole() Role { return Role(c.role.Load()) }

// roleNow is the role to ask of a connecting switch.
func (s *Server) roleNow() (Role, uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.roles.set {
		return s.roles.role, s.roles.gen
	}
	role := s.Role
	if role == 0 {
		role = RoleEqual
	}
	return role, s.GenerationID
}

// SetRole makes role, with generation-id gen, what this server asks of
// every switch: at once of those connected (concurrently, each within
// ctx, telling OnRole what it granted) and at the handshake of those that
// connect later. When only the generation-id changes, connected switches
// are left as they are: it matters only to later handshakes.
func (s *Server) SetRole(ctx context.Context, role Role, gen uint64) error {
	s.mu.Lock()
	changed := !s.roles.set || s.roles.role != role
	s.roles = roleState{set: true, role: role, gen: gen}
	s.mu.Unlock()
	if !changed {
		return nil
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	for _, sw := range s.Switches() {
		if !sw.Connected() {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := sw.SetRole(ctx, role, gen)
			if err != nil && !errors.Is(err, ErrStaleRole) {
				mu.Lock()
				errs = append(errs, fmt.Errorf("switch %016x: %w", sw.DPID(), err))
				mu.Unlock()
				return
			}
			if s.OnRole != nil {
				s.OnRole(sw, got)
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// recheckRole asks again, right after the handshake, if SetRole ran while
// the switch was connecting (SetRole only reaches attached switches).
func (s *Server) recheckRole(ctx context.Context, sw *Switch, c *conn, timeout time.Duration) {
	role, gen := s.roleNow()
	if c.grantedRole() == role {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	got, err := claimRole(ctx, c, role, gen)
	if err != nil && !errors.Is(err, ErrStaleRole) {
		sw.log.Warn("role request", "role", roleName(role), "err", err)
		return
	}
	if s.OnRole != nil {
		s.OnRole(sw, got)
	}
}

// claimRole asks for role with generation-id gen. If the switch finds gen
// stale, another controller has claimed it with a larger one: this one
// stays connected as SLAVE under the switch's generation-id (so it can
// still take over later with a larger one) and gets ErrStaleRole.
func claimRole(ctx context.Context, c *conn, role Role, gen uint64) (Role, error) {
	got, _, err := requestRole(ctx, c, role, gen)
	if err == nil || !isStale(err) || role == RoleEqual {
		return got, err
	}
	_, cur, err := requestRole(ctx, c, Role(ofp13.RoleNoChange), 0)
	if err != nil {
		return 0, err
	}
	if got, _, err = requestRole(ctx, c, RoleSlave, max(cur, gen)); err != nil {
		return 0, err
	}
	return got, fmt.Errorf("%s with generation-id %d (switch at %d): %w", roleName(role), gen, cur, ErrStaleRole)
}

// requestRole sends one role request; it returns the role granted and the
// switch's generation-id.
func requestRole(ctx context.Context, c *conn, role Role, gen uint64) (Role, uint64, error) {
	m, err := c.call(ctx, &ofp13.RoleRequest{Role: uint32(role), GenerationID: gen})
	if err != nil {
		return 0, 0, fmt.Errorf("role request: %w", err)
	}
	rr, ok := m.(*ofp13.RoleReply)
	if !ok {
		return 0, 0, fmt.Errorf("role request: unexpected reply type %d", m.MsgType())
	}
	c.role.Store(rr.Role)
	return Role(rr.Role), rr.GenerationID, nil
}

func isStale(err error) bool {
	var oe *ofp13.Error
	return errors.As(err, &oe) && oe.Type == ofp13.ErrRoleFailed && oe.Code == ofp13.CodeRoleStale
}
