package lab

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestPlanMultihome(t *testing.T) {
	c := Config{DCs: 20, Edges: 2, HostsPerNetwork: 9}.withDefaults()
	if err := c.validate(); err != nil {
		t.Fatal(err)
	}
	topo := plan(c)
	if len(topo.DCs) != 40 || len(topo.LANs) != 20 {
		t.Fatalf("%d edges and %d LANs, want 40 and 20", len(topo.DCs), len(topo.LANs))
	}
	seen := map[string]bool{}
	unique := func(kind, v string) {
		t.Helper()
		if seen[kind+v] {
			t.Errorf("duplicate %s %s", kind, v)
		}
		seen[kind+v] = true
	}
	for _, d := range topo.DCs {
		for _, n := range []string{d.Name, d.MgmtLink} {
			if len(n) > 15 {
				t.Errorf("interface name %q longer than 15", n)
			}
		}
		unique("rloc", d.RLOC.String())
		unique("mgmt", d.MgmtAddr.String())
		unique("netns", d.Netns)
		unique("xtr", d.XTR)
		unique("dir", d.OVS.Dir)
		if d.SiteName() != topo.DC(d.Index).Name || d.Edge < 1 || d.Edge > 2 {
			t.Errorf("edge %s: site %s edge %d", d.Name, d.SiteName(), d.Edge)
		}
	}
	for _, l := range topo.LANs {
		unique("netns", l.Netns)
		if len(l.Uplinks) != 2*len(c.Networks) {
			t.Errorf("LAN of %s has %d uplinks", l.Site, len(l.Uplinks))
		}
		for _, u := range l.Uplinks {
			if len(u.Port) > 15 {
				t.Errorf("uplink %q longer than 15", u.Port)
			}
			unique("uplink", u.Port)
		}
	}
	for _, h := range topo.Hosts {
		if h.LAN != topo.LANOf(topo.DC(h.DC).Name).Netns {
			t.Errorf("host %s on LAN %q", h.Name, h.LAN)
		}
	}
	e2 := topo.Edges(3)[1]
	if e2.Name != "dc3-e2" || e2.XTR != "dc3-edge2" || e2.RLOC != netip.MustParseAddr("192.0.2.103") ||
		e2.MgmtAddr != netip.MustParseAddr("203.0.113.103") || e2.Netns != "l2lab-dc3-e2" || e2.OVSDB != "ssl:203.0.113.103:6640" {
		t.Errorf("edge 2 of dc3: %+v", e2)
	}
	if err := (Config{Edges: 3}).withDefaults().validate(); err == nil {
		t.Error("3 edges: want error")
	}
	one := plan(Config{}.withDefaults())
	if len(one.LANs) != 0 || one.DCs[0].Site != "" || one.Hosts[0].LAN != "" {
		t.Error("a single-edge lab changed shape")
	}
}

// Registering a multihomed lab makes one site per datacenter with both
// edges, binds the edges' uplinks and not the hosts' ports.
func TestRegisterMultihome(t *testing.T) {
	made := false
	srv, calls := fakeAPI(t, func(path string, body map[string]any) int {
		if path == "/api/v1/sites" {
			if made {
				return http.StatusConflict // the second edge's turn: the site exists
			}
			made = true
		}
		return http.StatusCreated
	})
	cfg := Config{DCs: 1, Edges: 2, HostsPerNetwork: 1, Register: true, APIURL: srv.URL, StaticHosts: true,
		RunDir: "/tmp/l2lab-unit", CAFile: ca.CAFile(), Log: quietLog()}.withDefaults()
	if err := Register(context.Background(), cfg, plan(cfg)); err != nil {
		t.Fatal(err)
	}
	var sites, xtrs, ports, maps []string
	for _, c := range calls() {
		switch {
		case c.Path == "/api/v1/sites":
			sites = append(sites, fmt.Sprint(c.Body["name"]))
		case strings.HasSuffix(c.Path, "/xtrs"):
			xtrs = append(xtrs, c.Path+" "+fmt.Sprint(c.Body["name"], " ", c.Body["rloc"]))
		case strings.HasSuffix(c.Path, "/ports"):
			ports = append(ports, c.Path+" "+fmt.Sprint(c.Body["name"]))
		case c.Path == "/api/v1/mappings":
			maps = append(maps, fmt.Sprint(c.Body["site"]))
		}
	}
	want := []string{"/api/v1/sites/dc1/xtrs dc1-edge 192.0.2.1", "/api/v1/sites/dc1/xtrs dc1-edge2 192.0.2.101"}
	if !slices.Equal(xtrs, want) {
		t.Errorf("xTRs %v, want %v", xtrs, want)
	}
	wantPorts := []string{"/api/v1/xtrs/dc1-edge/ports dc1e1-blue", "/api/v1/xtrs/dc1-edge/ports dc1e1-red",
		"/api/v1/xtrs/dc1-edge2/ports dc1e2-blue", "/api/v1/xtrs/dc1-edge2/ports dc1e2-red"}
	if !slices.Equal(ports, wantPorts) {
		t.Errorf("ports %v, want %v", ports, wantPorts)
	}
	if !slices.Equal(maps, []string{"dc1", "dc1"}) || len(sites) != 2 {
		t.Errorf("static mappings at %v, sites %v", maps, sites)
	}
}

// TestLabMultihome builds two sites with two edges each: every RLOC reaches
// every other over the WAN, each edge holds its uplinks, the hosts of a
// site reach each other over their LAN (no switch involved), and Status
// and Down cover the LANs.
func TestLabMultihome(t *testing.T) {
	ctx := needLab(t)
	cfg := Config{DCs: 2, Edges: 2, HostsPerNetwork: 2, Plaintext: true}
	t.Cleanup(func() { _ = Down(context.Background(), cfg) })
	topo, err := Up(ctx, cfg)
	if err != nil {
		t.Fatalf("Up: %v", err)
	}
	if len(topo.DCs) != 4 || len(topo.LANs) != 2 {
		t.Fatalf("built %d edges and %d LANs", len(topo.DCs), len(topo.LANs))
	}
	checkWAN(t, ctx, topo)
	for _, l := range topo.LANs {
		for _, u := range l.Uplinks {
			if !linkExists(ctx, u.EdgeNetns, u.Port) {
				t.Errorf("uplink %s missing in %s", u.Port, u.EdgeNetns)
			}
		}
	}
	a, b := *topo.Host("dc1-blue-h1"), *topo.Host("dc1-blue-h2")
	if _, got, err := Ping(ctx, a, b.IPv4.Addr(), 3, 100*time.Millisecond); err != nil || got == 0 {
		t.Errorf("%s -> %s over the site LAN: %d replies, %v", a.Name, b.Name, got, err)
	}
	r, err := Status(ctx, cfg)
	if err != nil || !r.AllUp() {
		t.Fatalf("status: %v %+v", err, r)
	}
	if err := Down(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	checkGone(t, ctx)
}
