package openflow

import (
	"crypto/tls"
	"errors"
	"net"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/l2lisp/l2lisp/pki"
	"github.com/l2lisp/l2lisp/southbound/openflow/ofp13"
)

func TestAdmitByName(t *testing.T) {
	xtrs := map[string]uint64{"dc1-edge": 1, "dc2-edge": 2}
	admit := AdmitByName(func(n string) (uint64, bool) { d, ok := xtrs[n]; return d, ok })
	for _, c := range []struct {
		peer   Peer
		reason string
	}{
		{Peer{TLS: true, Name: "dc1-edge", DPID: 1}, ""},
		{Peer{TLS: true, Name: "dc2-edge", DPID: 2}, ""},
		{Peer{TLS: true, Name: "dc1-edge", DPID: 2}, RefusedDPIDMismatch}, // another xTR's datapath
		{Peer{TLS: true, Name: "dc1-edge", DPID: 9}, RefusedDPIDMismatch},
		{Peer{TLS: true, Name: "dc9-edge", DPID: 1}, RefusedUnknownXTR},
		{Peer{TLS: true, Name: pki.ControllerName, DPID: 1}, RefusedUnknownXTR},
		{Peer{TLS: false, DPID: 1}, RefusedNoCert},
		{Peer{TLS: true, Name: "", DPID: 1}, RefusedNoCert},
	} {
		err := admit(c.peer)
		var re *RefusedError
		switch {
		case c.reason == "" && err != nil:
			t.Errorf("%+v refused: %v", c.peer, err)
		case c.reason != "" && (!errors.As(err, &re) || re.Reason != c.reason):
			t.Errorf("%+v: %v, want refusal %s", c.peer, err, c.reason)
		}
	}
}

// tlsPKI makes a CA with the controller's certificate and xTRs dc1-edge and
// dc2-edge, plus a second CA that issued another dc1-edge.
type tlsPKI struct {
	dir, other string
	srv        *pki.Material
}

func newTLSPKI(t *testing.T) *tlsPKI {
	t.Helper()
	p := &tlsPKI{dir: t.TempDir(), other: t.TempDir()}
	for _, d := range []string{p.dir, p.other} {
		if _, err := pki.Init(d, pki.Options{Hosts: []string{"localhost"}}); err != nil {
			t.Fatal(err)
		}
		for _, n := range []string{"dc1-edge", "dc2-edge"} {
			if _, err := pki.IssueXTR(d, n, pki.Options{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	m, err := pki.Load(filepath.Join(p.dir, pki.ControllerCertFile), filepath.Join(p.dir, pki.ControllerKeyFile), filepath.Join(p.dir, pki.CAFile))
	if err != nil {
		t.Fatal(err)
	}
	p.srv = m
	return p
}

// client is the TLS configuration of switch name from PKI dir ("" for none).
func (p *tlsPKI) client(t *testing.T, dir, name string) *tls.Config {
	t.Helper()
	cfg := &tls.Config{RootCAs: p.srv.CAs, ServerName: "localhost", MinVersion: tls.VersionTLS12}
	if name != "" {
		b := pki.XTRBundle(dir, name)
		c, err := tls.LoadX509KeyPair(filepath.Join(b, pki.BundleCert), filepath.Join(b, pki.BundleKey))
		if err != nil {
			t.Fatal(err)
		}
		cfg.Certificates = []tls.Certificate{c}
	}
	return cfg
}

// startTLSServer runs a Server behind mutual TLS that admits dc1-edge
// (dpid 1) and dc2-edge (dpid 2) and records refusals.
func startTLSServer(t *testing.T, p *tlsPKI, probe time.Duration) (*testServer, chan Refusal) {
	t.Helper()
	refused := make(chan Refusal, 16)
	xtrs := map[string]uint64{"dc1-edge": 1, "dc2-edge": 2}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ts := serveOn(t, tls.NewListener(ln, p.srv.MutualServer()), func(s *Server) {
		s.Admit = AdmitByName(func(n string) (uint64, bool) { d, ok := xtrs[n]; return d, ok })
		s.OnRefused = func(r Refusal) { refused <- r }
		s.DuplicateProbe = probe
	})
	return ts, refused
}

// punt is a packet-in of a broadcast frame from MAC 02:ba:d0:00:00:src.
func punt(src byte) *ofp13.PacketIn {
	frame := make([]byte, 60)
	copy(frame, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0xba, 0xd0, 0, 0, src, 0x08, 0x06})
	return &ofp13.PacketIn{BufferID: ofp13.NoBuffer, TotalLen: 60, Table: 40, Data: frame}
}

// TestTLSAdmission connects real TLS clients as the attacks of issue 9:
// each is refused for its reason, gets no flow-mod and no configuration,
// and its packet-ins never reach OnPacketIn; the admitted switch stays.
func TestTLSAdmission(t *testing.T) {
	p := newTLSPKI(t)
	ts, refused := startTLSServer(t, p, 0)

	good := &fakeSwitch{dpid: 1, tls: p.client(t, p.dir, "dc1-edge"), punt: punt(1)}
	dialFake(t, ts.addr, good)
	sw := ts.waitSwitch(t)
	if sw.DPID() != 1 {
		t.Fatalf("admitted dpid %x", sw.DPID())
	}
	select { // the admitted switch's punt sent after its role reply arrives
	case <-ts.packetIns:
	case <-time.After(waitBound):
		t.Fatal("admitted switch's packet-in lost")
	}
	for _, c := range []struct {
		name   string
		fs     *fakeSwitch
		reason string
	}{
		{"no certificate", &fakeSwitch{dpid: 1, tls: p.client(t, p.dir, "")}, RefusedNoCert},
		{"certificate of another CA", &fakeSwitch{dpid: 1, tls: p.client(t, p.other, "dc1-edge")}, RefusedUntrusted},
		{"plain TCP", &fakeSwitch{dpid: 1}, RefusedTLS},
		{"another xTR's certificate", &fakeSwitch{dpid: 1, tls: p.client(t, p.dir, "dc2-edge")}, RefusedDPIDMismatch},
		{"right name, wrong datapath-id", &fakeSwitch{dpid: 7, tls: p.client(t, p.dir, "dc1-edge")}, RefusedDPIDMismatch},
		{"second connection", &fakeSwitch{dpid: 1, tls: p.client(t, p.dir, "dc1-edge")}, RefusedDuplicate},
	} {
		c.fs.punt = punt(0xee)
		dialFake(t, ts.addr, c.fs)
		select {
		case r := <-refused:
			if r.Reason != c.reason || r.Remote == nil {
				t.Errorf("%s: refused %+v, want reason %s", c.name, r, c.reason)
			}
		case <-time.After(waitBound):
			t.Fatalf("%s: not refused", c.name)
		}
		select {
		case <-c.fs.done:
		case <-time.After(waitBound):
			t.Fatalf("%s: connection left open", c.name)
		}
		for _, typ := range []uint8{ofp13.TypeFlowMod, ofp13.TypeSetConfig, ofp13.TypeRoleRequest, ofp13.TypeGroupMod} {
			if n := c.fs.received(typ); n > 0 {
				t.Errorf("%s: refused peer got %d messages of type %d", c.name, n, typ)
			}
		}
	}
	for len(ts.packetIns) > 0 {
		if pi := <-ts.packetIns; pi.Data[11] != 1 {
			t.Errorf("a refused peer's packet-in reached OnPacketIn: %x", pi.Data[:14])
		}
	}
	if !sw.Connected() || len(ts.srv.Switches()) != 1 {
		t.Errorf("admitted switch lost, or a refused peer got a Switch: %d switches", len(ts.srv.Switches()))
	}
	if _, err := sw.Sync(ctxT(t), []Flow{{Table: 0, Priority: 1, Cookie: StageCookie(1)}}, nil); err != nil || good.flowMods.Load() != 1 {
		t.Errorf("admitted switch: sync %v, %d flow-mods", err, good.flowMods.Load())
	}
}

// TestDuplicateProbeReadmits is a switch that restarted while its old
// connection stays open and silent: the new connection is refused at
// first, the probe drops the silent one, and a retry gets in. It logs how
// long that took.
func TestDuplicateProbeReadmits(t *testing.T) {
	p := newTLSPKI(t)
	ts, refused := startTLSServer(t, p, 0) // the default probe time
	var mu sync.Mutex
	var gone time.Time
	ts.srv.OnDisconnect = func(*Switch) { mu.Lock(); gone = time.Now(); mu.Unlock() }

	old := &fakeSwitch{dpid: 1, tls: p.client(t, p.dir, "dc1-edge")}
	dialFake(t, ts.addr, old)
	ts.waitSwitch(t)
	old.silent.Store(true)
	start := time.Now()
	attempts := 0
	for {
		attempts++
		fs := &fakeSwitch{dpid: 1, tls: p.client(t, p.dir, "dc1-edge")}
		dialFake(t, ts.addr, fs)
		select {
		case <-ts.connected:
			mu.Lock()
			t.Logf("silent connection dropped %v after the first new attempt; new one admitted after %v and %d attempts (every 100ms)",
				gone.Sub(start).Round(time.Millisecond), time.Since(start).Round(time.Millisecond), attempts)
			mu.Unlock()
			if d := time.Since(start); d < 2*time.Second {
				t.Errorf("admitted after %v, before the 3s probe could have expired", d)
			}
			return
		case r := <-refused:
			if r.Reason != RefusedDuplicate {
				t.Fatalf("refused for %s", r.Reason)
			}
		}
		if time.Since(start) > waitBound {
			t.Fatal("never readmitted")
		}
		time.Sleep(100 * time.Millisecond)
	}
}
