package e2e

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/l2lisp/l2lisp/pki"
	"github.com/l2lisp/l2lisp/pki/pkitest"
	"github.com/l2lisp/l2lisp/southbound/openflow/ofp13"
	"github.com/l2lisp/l2lisp/test/sim"
)

// simSites is the number of simulated sites, one xTR and switch each.
const simSites = 100

// BenchmarkMappingToFlows100Sim measures the time from a POST of a new MAC
// mapping to its flows being in all 100 simulated switches. The controller
// is the real binary (l2lisp serve, SQLite in a temp dir, log level info);
// the switches are test/sim clients in this process, each the only xTR of
// its own site, all serving one network, each with one bound access port
// (so the local switch gets a delivery flow too). No OVSDB is involved.
// Arrival is when a sim read the flow-mod off its socket.
func BenchmarkMappingToFlows100Sim(b *testing.B) {
	ctl := startBenchController(b, freeAddr(b), "", "info")
	const iid = 4100
	ctl.do("POST", "/api/v1/networks", map[string]any{"instance_id": iid, "name": "bench"}, 201)
	dpids := make([]uint64, simSites)
	for i := range dpids {
		dpids[i] = registerSimSite(b, ctl, i, iid)
	}
	arr := newArrivals()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for i, dpid := range dpids {
		sw := i
		s, err := sim.Dial(ctx, ctl.OFAddr, sim.Options{DPID: dpid, TLS: simTLS(b, ctl.PKI, simSiteName(i)+"-x"), OnFlowMod: func(fm *ofp13.FlowMod, at time.Time) {
			if fm.Command == ofp13.FlowAdd {
				if m := sim.EthDst(fm.Match); m != ([6]byte{}) {
					arr.arrive(sw, m, at)
				}
			}
		}})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = s.Close() })
	}
	ctl.waitConnected(simSites, 2*time.Minute)
	run := func(b *testing.B, burst bool) {
		var rs []runResult
		b.ResetTimer()
		for it := 0; it < b.N; it++ {
			r := mappingRun{arr: arr, n: benchMappings(), burst: burst, timeout: time.Minute,
				post: func(i int, mac [6]byte) {
					ctl.do("POST", "/api/v1/mappings", map[string]any{"instance_id": iid, "eid": macString(mac),
						"site": simSiteName(i % simSites)}, 201)
				},
				need: func(i int) []int { return needOneLocal(simSites, i%simSites) },
			}
			rs = append(rs, r.do(b, nextRunID()))
		}
		b.StopTimer()
		reportLatency(b, fmt.Sprintf("%d simulated switches (burst=%v)", simSites, burst), rs)
	}
	b.Run("sequential", func(b *testing.B) { run(b, false) })
	b.Run("burst", func(b *testing.B) { run(b, true) })
}

func simSiteName(i int) string { return fmt.Sprintf("sim%03d", i) }

// registerSimSite creates site i with one xTR (no OVSDB endpoint) and one
// access port, and returns the xTR's datapath id.
func registerSimSite(b *testing.B, ctl *benchCtl, i int, iid uint32) uint64 {
	b.Helper()
	name := simSiteName(i)
	ctl.do("POST", "/api/v1/sites", map[string]any{"name": name, "auth_key": "bench-key-" + name,
		"networks": []uint32{iid}}, 201)
	body := ctl.do("POST", "/api/v1/sites/"+name+"/xtrs", map[string]any{"name": name + "-x",
		"rloc": fmt.Sprintf("10.%d.%d.1", 1+i/250, i%250), "ovsdb": "", "bridge": "br-int",
		"datapath_type": "netdev", "priority": 1, "weight": 100}, 201)
	var x struct {
		DatapathID string `json:"datapath_id"`
	}
	if err := json.Unmarshal(body, &x); err != nil {
		b.Fatalf("xTR answer %s: %v", body, err)
	}
	dpid, err := strconv.ParseUint(x.DatapathID, 10, 64)
	if err != nil {
		b.Fatalf("datapath_id %q: %v", x.DatapathID, err)
	}
	ctl.do("POST", "/api/v1/xtrs/"+name+"-x/ports", map[string]any{"name": "p1", "instance_id": iid}, 201)
	return dpid
}

// simTLS is the TLS configuration of a simulated switch that is xTR name:
// its own certificate from the PKI, and the PKI's CA for the controller.
func simTLS(tb testing.TB, p *pkitest.PKI, name string) *tls.Config {
	tb.Helper()
	dir := p.XTR(tb, name)
	cert, err := tls.LoadX509KeyPair(filepath.Join(dir, pki.BundleCert), filepath.Join(dir, pki.BundleKey))
	if err != nil {
		tb.Fatal(err)
	}
	cfg := p.ClientTLS()
	cfg.Certificates = []tls.Certificate{cert}
	return cfg
}
