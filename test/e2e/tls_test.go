package e2e

import (
	"context"
	"crypto/tls"
	be "encoding/binary"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/l2lisp/l2lisp/pki"
	"github.com/l2lisp/l2lisp/pki/pkitest"
	"github.com/l2lisp/l2lisp/southbound/openflow/ofp13"
	"github.com/l2lisp/l2lisp/test/lab"
	"github.com/l2lisp/l2lisp/test/sim"
)

// ofAddr is where the attackers reach the controller's OpenFlow port:
// the address the switches use, on the lab's management network.
const ofAddr = lab.MgmtAddr + ":6653"

// TestOpenFlowTLS runs the lab over TLS on every channel and attacks the
// OpenFlow port as issue 9 lists, with simulated switches, while a host in
// dc1 pings one in dc2 every 10 ms: each attacker is refused, gets no
// configuration and no flow, its packet-in teaches learning nothing, each
// refusal is counted and raised as an event, and no ping is lost. Then a
// switch that hangs without closing its connection is replaced by a
// restarted one with the same certificate, which is admitted and learned
// from (the control of the packet-in checks), and the times are logged.
func TestOpenFlowTLS(t *testing.T) {
	e := StartEnv(t, EnvOptions{StaticHosts: true})
	warmUp(t, e)
	t.Run("switches use TLS", func(t *testing.T) { switchesUseTLS(t, e) })
	t.Run("attacks refused while the switches forward", func(t *testing.T) { attacks(t, e) })
	t.Run("hung switch replaced by its restart", func(t *testing.T) { hungSwitch(t, e) })
}

// xtrInfo is what the tests read of an xTR.
type xtrInfo struct {
	OVSDB      string `json:"ovsdb"`
	TLSDir     string `json:"tls_dir"`
	DatapathID string `json:"datapath_id"`
	Status     struct {
		OpenFlow struct {
			Connected bool      `json:"connected"`
			Since     time.Time `json:"since"`
		} `json:"openflow"`
		OVSDB struct {
			Connected bool `json:"connected"`
		} `json:"ovsdb"`
		Flows int `json:"flows"`
	} `json:"status"`
}

func (e *Env) xtr(name string) (xtrInfo, uint64) {
	e.t.Helper()
	status, body := e.Do("GET", "/api/v1/xtrs/"+name, nil)
	var x xtrInfo
	if err := json.Unmarshal(body, &x); status != 200 || err != nil {
		e.t.Fatalf("GET xtr %s: %d %s", name, status, body)
	}
	dpid, err := strconv.ParseUint(x.DatapathID, 10, 64)
	if err != nil {
		e.t.Fatal(err)
	}
	return x, dpid
}

func switchesUseTLS(t *testing.T, e *Env) {
	for _, d := range e.Topo.DCs {
		x, _ := e.xtr(d.XTR)
		if !strings.HasPrefix(x.OVSDB, "ssl:") || !x.Status.OVSDB.Connected || !x.Status.OpenFlow.Connected {
			t.Errorf("%s: ovsdb %s connected %v, openflow connected %v", d.XTR, x.OVSDB, x.Status.OVSDB.Connected, x.Status.OpenFlow.Connected)
		}
		ssl, err := d.OVS.Vsctl("get-ssl")
		if err != nil || !strings.Contains(ssl, "Private key: "+filepath.Join(x.TLSDir, pki.BundleKey)) {
			t.Errorf("%s SSL table: %q %v", d.Name, ssl, err)
		}
		if c, _ := d.OVS.Vsctl("get-controller", "br-int"); c != lab.ControllerOFTLS {
			t.Errorf("%s controller %q, want %s", d.Name, c, lab.ControllerOFTLS)
		}
		// The switch's own view: connected to the controller over ssl. OVS
		// writes it in a status transaction that the bridge's early
		// reconfigurations (BFD ports for each new peer) may delay.
		deadline := time.Now().Add(10 * time.Second)
		for {
			st, _ := d.OVS.Vsctl("--columns=is_connected", "list", "Controller")
			if strings.Contains(st, "true") {
				break
			}
			if time.Now().After(deadline) {
				t.Errorf("%s: OVS reports its controller connection down: %s", d.Name, st)
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}

// attacker is one hostile OpenFlow client.
type attacker struct {
	name   string
	reason string // refusal reason expected in the metric and the event
	tls    *tls.Config
	dpid   uint64
	mac    byte // the attacker's packet-in announces 02:ba:d0:00:00:mac
}

func attacks(t *testing.T, e *Env) {
	_, dpid1 := e.xtr("dc1-edge")
	other := pkitest.New(t) // another CA, which also issued a "dc1-edge"
	cases := []attacker{
		{"no certificate", "no_certificate", e.PKI.ClientTLS(), dpid1, 1},
		{"certificate of another CA", "untrusted_certificate", xtrTLS(t, other, e.PKI, "dc1-edge"), dpid1, 2},
		{"valid certificate of another xTR", "dpid_mismatch", xtrTLS(t, e.PKI, e.PKI, "dc2-edge"), dpid1, 3},
		{"right name, wrong datapath-id", "dpid_mismatch", xtrTLS(t, e.PKI, e.PKI, "dc1-edge"), dpid1 ^ 0xbad, 4},
		{"second connection for a connected datapath-id", "duplicate", xtrTLS(t, e.PKI, e.PKI, "dc1-edge"), dpid1, 5},
		{"plain TCP", "tls_handshake", nil, dpid1, 6},
	}
	before, _ := e.xtr("dc1-edge")
	from, to := e.Host("blue", 1, 1), e.Host("blue", 2, 1)
	const window = 10 * time.Second
	began := time.Now()
	done := pingLoss(t, from, to.IPv4.Addr(), window)
	time.Sleep(500 * time.Millisecond)
	for _, a := range cases {
		t.Run(a.name, func(t *testing.T) { attack(t, e, a) })
	}
	if took := time.Since(began); took > window-500*time.Millisecond {
		t.Errorf("the attacks took %v, longer than the ping that watches them", took)
	}
	sent, got := done()
	t.Logf("ping dc1 -> dc2 every 10 ms during the %d attacks: %d sent, %d received", len(cases), sent, got)
	if got != sent || sent == 0 {
		t.Errorf("lost %d of %d pings while the OpenFlow port was attacked", sent-got, sent)
	}
	after, _ := e.xtr("dc1-edge")
	if !after.Status.OpenFlow.Connected || !after.Status.OpenFlow.Since.Equal(before.Status.OpenFlow.Since) || after.Status.Flows == 0 {
		t.Errorf("dc1's switch connection changed: since %v -> %v, flows %d", before.Status.OpenFlow.Since, after.Status.OpenFlow.Since, after.Status.Flows)
	}
	for _, a := range cases {
		if h := mobHistory(t, e, 4100, attackerMAC(a.mac)); len(h) != 0 {
			t.Errorf("%s: learning took its packet-in: %+v", a.name, h)
		}
	}
}

// attack connects one attacker and checks what it got and what was recorded.
func attack(t *testing.T, e *Env, a attacker) {
	metric := fmt.Sprintf(`l2lisp_openflow_refused_total{reason=%q}`, a.reason)
	count := e.Metric(metric)
	var nc net.Conn
	var err error
	if a.tls != nil {
		cfg := a.tls.Clone()
		cfg.ServerName = lab.MgmtAddr
		nc, err = tls.Dial("tcp", ofAddr, cfg)
	} else {
		nc, err = net.Dial("tcp", ofAddr)
	}
	if err != nil {
		t.Logf("dial: %v", err) // TLS 1.2 would fail here; TLS 1.3 learns of the refusal on its first read
	} else {
		s := sim.New(nc, sim.Options{DPID: a.dpid, Punt: punt(a.mac)})
		select {
		case <-s.Done():
		case <-time.After(30 * time.Second):
			_ = s.Close()
			t.Fatal("the controller kept the connection open")
		}
		t.Logf("connection closed: %v", s.Err())
		for _, typ := range []uint8{ofp13.TypeFlowMod, ofp13.TypeGroupMod, ofp13.TypeMeterMod, ofp13.TypeSetConfig,
			ofp13.TypeRoleRequest, ofp13.TypeMultipartRequest, ofp13.TypePacketOut} {
			if n := s.Received(typ); n > 0 {
				t.Errorf("refused peer got %d messages of type %d", n, typ)
			}
		}
	}
	eventuallyE(t, "refusal counted", func() bool { return e.Metric(metric) >= count+1 })
	ev := mobWaitEvent(t, e, "openflow.refused", func(ev mobEvent) bool {
		var d struct {
			Reason string `json:"reason"`
			DPID   string `json:"dpid"`
			Remote string `json:"remote"`
		}
		return json.Unmarshal(ev.Data, &d) == nil && d.Reason == a.reason && d.Remote != "" &&
			(d.DPID == "" || d.DPID == fmt.Sprintf("%016x", a.dpid))
	})
	t.Logf("event %d: %s", ev.ID, ev.Data)
	if !strings.Contains(e.Log(), `reason=`+a.reason) {
		t.Errorf("no log line for the refusal")
	}
}

func eventuallyE(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 30 s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// xtrTLS is the client configuration of a switch holding issuer's
// certificate for name and trusting trust's CA.
func xtrTLS(t *testing.T, issuer, trust *pkitest.PKI, name string) *tls.Config {
	t.Helper()
	dir := issuer.XTR(t, name)
	cert, err := tls.LoadX509KeyPair(filepath.Join(dir, pki.BundleCert), filepath.Join(dir, pki.BundleKey))
	if err != nil {
		t.Fatal(err)
	}
	cfg := trust.ClientTLS()
	cfg.Certificates = []tls.Certificate{cert}
	return cfg
}

func attackerMAC(n byte) string { return fmt.Sprintf("02:ba:d0:00:00:%02x", n) }

// punt is the packet-in a switch sends for a frame in table 40 (the punt
// table learning reads) from the first access port (100, a blue host's):
// an ARP request from attackerMAC(n) announcing 198.51.100.(200+n). From an
// admitted switch, learning would record that MAC at the switch's site.
func punt(n byte) *ofp13.PacketIn {
	f := make([]byte, 60)
	copy(f[0:6], []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	src := []byte{0x02, 0xba, 0xd0, 0, 0, n}
	copy(f[6:12], src)
	be.BigEndian.PutUint16(f[12:], 0x0806)
	arp := f[14:]
	be.BigEndian.PutUint16(arp[0:], 1)
	be.BigEndian.PutUint16(arp[2:], 0x0800)
	arp[4], arp[5] = 6, 4
	be.BigEndian.PutUint16(arp[6:], 1)
	copy(arp[8:14], src)
	copy(arp[14:18], []byte{198, 51, 100, 200 + n})
	copy(arp[24:28], []byte{198, 51, 100, 1})
	port := be.BigEndian.AppendUint32(nil, 100)
	return &ofp13.PacketIn{BufferID: ofp13.NoBuffer, TotalLen: uint16(len(f)), Reason: 1, Table: 40,
		Match: []ofp13.OXM{{Class: ofp13.ClassBasic, Field: 0, Value: port}}, Data: f}
}

// hungSwitch stops dc3's ovs-vswitchd (SIGSTOP: its TCP connection stays
// open, nothing answers) and measures, first, how long the echo keepalive
// takes to drop it, and then how long a restarted switch with the same
// certificate and datapath-id (a sim) waits to be admitted while the hung
// connection holds the datapath-id. The admitted sim's packet-in is
// learned: the control showing the attackers' packet-ins were learnable.
func hungSwitch(t *testing.T, e *Env) {
	d := e.Topo.DC(3)
	pid := vswitchdPid(t, d)
	stop := func() { _ = syscall.Kill(pid, syscall.SIGSTOP) }
	cont := func() { _ = syscall.Kill(pid, syscall.SIGCONT) }
	t.Cleanup(cont)

	// Keepalive alone (no one else claims the datapath-id).
	stop()
	began := time.Now()
	eventuallyE(t, "hung switch dropped by keepalive", func() bool { x, _ := e.xtr(d.XTR); return !x.Status.OpenFlow.Connected })
	t.Logf("hung switch dropped by the echo keepalive after %v (interval 5 s, timeout 15 s)", time.Since(began).Round(100*time.Millisecond))
	cont()
	e.WaitConnected(len(e.Topo.DCs))

	// A restart with the same identity while the hung connection lingers.
	_, dpid3 := e.xtr(d.XTR)
	stop()
	began = time.Now()
	var s *sim.Switch
	attempts := 0
	for s == nil {
		attempts++
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		cfg := xtrTLS(t, e.PKI, e.PKI, d.XTR)
		cfg.ServerName = lab.MgmtAddr
		s, _ = sim.Dial(ctx, ofAddr, sim.Options{DPID: dpid3, TLS: cfg, Punt: punt(9)})
		cancel()
		if time.Since(began) > time.Minute {
			t.Fatal("restarted switch never admitted")
		}
		if s == nil {
			time.Sleep(200 * time.Millisecond)
		}
	}
	t.Logf("restarted switch admitted %v after the first attempt (%d attempts, every 200 ms) while the old connection hung",
		time.Since(began).Round(100*time.Millisecond), attempts)
	defer s.Close()
	eventuallyE(t, "admitted switch's packet-in learned", func() bool {
		return len(mobHistory(t, e, 4100, attackerMAC(9))) > 0
	})
	_ = s.Close()
	cont()
	e.WaitConnected(len(e.Topo.DCs))
}

func vswitchdPid(t *testing.T, d *lab.DC) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(d.OVS.Dir, "ovs-vswitchd.pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 1 {
		t.Fatalf("pid %q: %v", b, err)
	}
	return pid
}
