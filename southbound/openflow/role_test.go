package openflow

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/l2lisp/l2lisp/southbound/openflow/ofp13"
)

// ovsRoles reads the role OVS gives each controller target of the bridge.
func (b *ovsBridge) ovsRoles(t *testing.T) map[string]string {
	t.Helper()
	out := b.vsctl(t, "--format=csv", "--no-headings", "--columns=target,role", "list", "controller")
	roles := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		target, role, ok := strings.Cut(line, ",")
		if ok {
			roles[strings.TrimPrefix(strings.Trim(target, `"`), "tcp:")] = role
		}
	}
	return roles
}

func waitRoles(t *testing.T, b *ovsBridge, want map[string]string) {
	t.Helper()
	deadline := time.Now().Add(waitBound)
	for {
		got := b.ovsRoles(t)
		same := len(got) == len(want)
		for k, v := range want {
			same = same && got[k] == v
		}
		if same {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("OVS controller roles %v, want %v", got, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func isSlaveError(err error) bool {
	var oe *ofp13.Error
	return errors.As(err, &oe) && oe.Type == ofp13.ErrBadRequest && oe.Code == ofp13.CodeIsSlave
}

// TestOVSRolesFenceAnOldMaster: two controllers share a real OVS bridge.
// The master programs it and the slave cannot; when the slave claims
// MASTER with a larger generation-id, OVS demotes the old master, which
// can then neither program the switch nor claim it back with its old
// generation-id; it stays connected as a slave. A controller connecting
// with a stale generation-id is kept as a slave too.
func TestOVSRolesFenceAnOldMaster(t *testing.T) {
	b := startBridge(t, "role", 0x00000000000a1b3d)
	a := startServer(t, "", func(s *Server) { s.Role, s.GenerationID = RoleMaster, 1000 })
	c := startServer(t, "", func(s *Server) { s.Role, s.GenerationID = RoleSlave, 1000 })
	b.vsctl(t, "set-controller", b.name, "tcp:"+a.addr, "tcp:"+c.addr)
	swA, swC := a.waitSwitch(t), c.waitSwitch(t)
	if swA.Role() != RoleMaster || swC.Role() != RoleSlave {
		t.Fatalf("roles granted %v and %v, want master and slave", swA.Role(), swC.Role())
	}
	waitRoles(t, b, map[string]string{a.addr: "master", c.addr: "slave"})

	flowA := []Flow{{Table: 0, Priority: 10, Cookie: StageCookie(1), Match: Match{InPort(10)}, Goto: 1}}
	if _, err := swA.Sync(ctxT(t), flowA, nil); err != nil {
		t.Fatalf("the master's sync: %v", err)
	}
	flowC := []Flow{{Table: 0, Priority: 20, Cookie: StageCookie(1), Match: Match{InPort(10)}, Goto: 2}}
	if _, err := swC.Sync(ctxT(t), flowC, nil); !isSlaveError(err) {
		t.Fatalf("the slave's sync: %v, want OFPBRC_IS_SLAVE", err)
	}

	// The slave takes over with a larger generation-id.
	granted := make(chan Role, 1)
	c.srv.OnRole = func(_ *Switch, r Role) { granted <- r }
	if err := c.srv.SetRole(ctxT(t), RoleMaster, 1001); err != nil {
		t.Fatal(err)
	}
	if r := <-granted; r != RoleMaster {
		t.Fatalf("the new master was granted %v", r)
	}
	waitRoles(t, b, map[string]string{a.addr: "slave", c.addr: "master"})
	if _, err := swA.Sync(ctxT(t), nil, nil); !isSlaveError(err) {
		t.Errorf("the old master's sync after the takeover: %v, want OFPBRC_IS_SLAVE", err)
	}
	a.srv.OnRole = func(_ *Switch, r Role) { granted <- r }
	if err := a.srv.SetRole(ctxT(t), RoleMaster, 1000); err != nil {
		t.Fatalf("a stale claim should leave the switch as a slave, not fail: %v", err)
	}
	if r := <-granted; r != RoleSlave || swA.Role() != RoleSlave || !swA.Connected() {
		t.Errorf("the old master's stale claim: granted %v, connected %v; want slave, connected", r, swA.Connected())
	}
	waitRoles(t, b, map[string]string{a.addr: "slave", c.addr: "master"})
	if _, err := swC.Sync(ctxT(t), flowC, nil); err != nil {
		t.Errorf("the new master's sync: %v", err)
	}

	// A third controller connecting with an old generation-id.
	d := startServer(t, "", func(s *Server) { s.Role, s.GenerationID = RoleSlave, 5 })
	b.vsctl(t, "set-controller", b.name, "tcp:"+a.addr, "tcp:"+c.addr, "tcp:"+d.addr)
	if swD := d.waitSwitch(t); swD.Role() != RoleSlave {
		t.Errorf("the late controller was granted %v, want slave", swD.Role())
	}
	waitRoles(t, b, map[string]string{a.addr: "slave", c.addr: "master", d.addr: "slave"})
	dump := b.ofctl(t, "dump-flows", b.name)
	if !strings.Contains(dump, "goto_table:2") || strings.Contains(dump, "goto_table:1") {
		t.Errorf("the switch should hold the new master's flow only:\n%s", dump)
	}
}
