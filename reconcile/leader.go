package reconcile

import (
	"context"
	"time"

	"github.com/l2lisp/l2lisp/cluster"
	"github.com/l2lisp/l2lisp/southbound/openflow"
)

// Leadership says whether this replica is the one that programs the
// switches; *cluster.Cluster implements it.
type Leadership interface {
	State() cluster.State
	Watch() (<-chan cluster.State, func())
}

// roleTimeout bounds the role requests of one change of leadership.
const roleTimeout = 5 * time.Second

// leadership is this replica's state; without a Leadership it is a
// single node with the fixed role of the configuration.
func (s *Southbound) leadership() cluster.State {
	if s.cluster == nil {
		return cluster.State{Leader: s.fixedRole != openflow.RoleSlave}
	}
	return s.cluster.State()
}

// roleFor is the OpenFlow role and generation-id to ask of the switches,
// and whether to program them. An elected leader is MASTER and a standby
// SLAVE, with the term's generation-id; otherwise the role is fixed.
func (s *Southbound) roleFor(st cluster.State) (openflow.Role, uint64, bool) {
	if !st.Elected {
		return s.fixedRole, 0, st.Leader && s.fixedRole != openflow.RoleSlave
	}
	if st.Leader {
		return openflow.RoleMaster, st.Generation, true
	}
	return openflow.RoleSlave, st.Generation, false
}

// leading reports whether this replica programs the switches (and so
// emits the events about them and sweeps learned hosts).
func (s *Southbound) leading() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.active
}

// followLeadership applies every change of this replica's role.
func (s *Southbound) followLeadership(ctx context.Context) {
	states, stop := s.cluster.Watch()
	defer stop()
	for {
		select {
		case <-ctx.Done():
			return
		case st := <-states:
			s.applyLeadership(ctx, st)
		}
	}
}

// applyLeadership makes the switches and the Reconciler follow st. A
// replica stepping down stops syncing before it asks for SLAVE; one taking
// over turns the Reconciler on first, which programs each switch as soon as
// that switch grants MASTER (roleGranted), so one slow switch delays no
// other. Either way what was believed installed is forgotten: the next
// term starts from what the switches report.
func (s *Southbound) applyLeadership(ctx context.Context, st cluster.State) {
	role, gen, active := s.roleFor(st)
	s.mu.Lock()
	changed := active != s.active
	s.active = active
	s.mu.Unlock()
	if changed {
		s.log.Info("switch programming", "active", active, "role", role.String(), "generation", gen)
		for _, sw := range s.of.Switches() {
			sw.Reread()
		}
	}
	s.rec.SetActive(active)
	rctx, cancel := context.WithTimeout(ctx, roleTimeout)
	defer cancel()
	if err := s.of.SetRole(rctx, role, gen); err != nil {
		s.log.Warn("role request", "role", role.String(), "generation", gen, "err", err)
	}
}

// roleGranted programs a switch that has just granted this replica a role
// that lets it (MASTER after a takeover).
func (s *Southbound) roleGranted(sw *openflow.Switch, role openflow.Role) {
	if role == openflow.RoleSlave {
		return
	}
	sw.Reread()
	s.rec.Resync(sw.DPID())
}
