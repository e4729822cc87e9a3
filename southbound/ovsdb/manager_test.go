package ovsdb

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestManagerRepairsAndReconnects(t *testing.T) {
	o := startOVS(t, "manager", "l2dbbr1", "l2dbfor1")
	veth(t, "l2dbM0", "l2dbM0p")
	veth(t, "l2dbF1", "l2dbF1p")
	vsctl(t, o, "add-br", "l2dbfor1", "--", "set", "bridge", "l2dbfor1", "datapath_type=netdev")

	m := NewManager(testLogger(t))
	defer m.Close()
	ctx := testCtx(t)
	d := labDesired("l2dbbr1", "l2dblisp1", AccessPort{Name: "l2dbM0", OFPort: 20})
	if err := m.Ensure(ctx, "xtr1", o.DBSock(), d); err != nil {
		t.Fatal(err)
	}
	provisioned := func() (bool, string) {
		st := m.State("xtr1")
		ports, _ := o.Vsctl("list-ports", "l2dbbr1")
		fm, _ := o.Vsctl("get", "Bridge", "l2dbbr1", "fail_mode")
		opts, _ := o.Vsctl("get", "Interface", "l2dblisp1", "options:dst_port")
		ok := st.Connected && st.LastError == "" && ports == "l2dbM0\nl2dblisp1" &&
			fm == "secure" && opts == `"4341"`
		return ok, ports + " / " + fm + " / " + opts + " / " + st.LastError
	}
	eventually(t, "initial provisioning", provisioned)
	if m.State("xtr1").LastApplied.IsZero() {
		t.Error("LastApplied not set")
	}

	vsctl(t, o, "del-port", "l2dbbr1", "l2dblisp1")
	eventually(t, "tunnel port put back", provisioned)

	vsctl(t, o, "set", "Bridge", "l2dbbr1", "fail_mode=standalone")
	eventually(t, "fail_mode put back", provisioned)

	vsctl(t, o, "set", "Interface", "l2dblisp1", "options:dst_port=4789")
	eventually(t, "tunnel options put back", provisioned)

	// A foreign port on a foreign bridge is left alone throughout.
	vsctl(t, o, "add-port", "l2dbfor1", "l2dbF1")

	// ovsdb-server restart: the Manager reconnects and keeps repairing.
	o.Stop()
	eventually(t, "disconnect noticed", func() (bool, string) {
		st := m.State("xtr1")
		return !st.Connected, st.LastError
	})
	if err := o.StartDB(); err != nil {
		t.Fatal(err)
	}
	if err := o.StartVswitchd(); err != nil {
		t.Fatal(err)
	}
	eventually(t, "reconnected", provisioned)
	vsctl(t, o, "del-br", "l2dbbr1")
	eventually(t, "bridge put back after reconnect", provisioned)

	if got := vsctl(t, o, "list-ports", "l2dbfor1"); got != "l2dbF1" {
		t.Errorf("foreign bridge ports = %q", got)
	}

	// Changing the desired state is applied too.
	d.Controllers = []string{"tcp:127.0.0.1:16654", "tcp:127.0.0.1:16655"}
	if err := m.Ensure(ctx, "xtr1", o.DBSock(), d); err != nil {
		t.Fatal(err)
	}
	eventually(t, "new controllers", func() (bool, string) {
		got, _ := o.Vsctl("get-controller", "l2dbbr1")
		return got == "tcp:127.0.0.1:16654\ntcp:127.0.0.1:16655", got
	})

	if err := m.Delete(ctx, "xtr1"); err != nil {
		t.Fatal(err)
	}
	if got := vsctl(t, o, "list-br"); got != "l2dbfor1" {
		t.Errorf("bridges after Delete = %q, want only l2dbfor1", got)
	}
	if st := m.State("xtr1"); st != (State{}) {
		t.Errorf("State after Delete = %+v", st)
	}
}

func TestManagerUnreachable(t *testing.T) {
	m := NewManager(testLogger(t), WithBackoff(10*time.Millisecond, 100*time.Millisecond))
	defer m.Close()
	d := labDesired("l2dbbr2", "l2dblisp2")
	// Nothing listens there: Ensure still returns at once and keeps trying.
	if err := m.Ensure(context.Background(), "xtr2", "unix:/tmp/l2db-nowhere/db.sock", d); err != nil {
		t.Fatal(err)
	}
	eventually(t, "error recorded", func() (bool, string) {
		st := m.State("xtr2")
		return !st.Connected && strings.Contains(st.LastError, "l2db-nowhere"), st.LastError
	})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := m.Delete(ctx, "xtr2"); err == nil {
		t.Error("Delete of an unreachable xTR reported success")
	}
}

func TestManagerRejectsBadInput(t *testing.T) {
	m := NewManager(nil)
	defer m.Close()
	ctx := context.Background()
	if err := m.Ensure(ctx, "x", "tcp:nohost", labDesired("l2dbbr3", "l2dblisp3")); !errors.Is(err, ErrBadEndpoint) {
		t.Errorf("bad endpoint: err = %v", err)
	}
	if err := m.Ensure(ctx, "x", "unix:/tmp/l2db-x.sock", Desired{}); !errors.Is(err, ErrInvalidDesired) {
		t.Errorf("empty desired: err = %v", err)
	}
	if _, err := Dial(ctx, "ssl:192.0.2.1:6640", nil); !errors.Is(err, ErrBadEndpoint) ||
		!strings.Contains(err.Error(), "WithTLS") {
		t.Errorf("ssl without TLS config: err = %v", err)
	}
	if st := m.State("x"); st != (State{}) {
		t.Errorf("rejected xTR has state %+v", st)
	}
}
