package lab

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"

	"github.com/l2lisp/l2lisp/pki"
)

// Up builds the lab described by cfg, first tearing down whatever an
// earlier run left (so it also works after a killed run), writes
// RunDir/topology.json and, with cfg.Register, registers everything with
// the controller. On failure the partial lab stays for inspection; Down
// removes it.
func Up(ctx context.Context, cfg Config) (*Topology, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("lab config: %w", err)
	}
	if err := Down(ctx, cfg); err != nil {
		return nil, fmt.Errorf("clean earlier lab: %w", err)
	}
	if err := os.MkdirAll(cfg.RunDir, 0o755); err != nil {
		return nil, fmt.Errorf("create run dir: %w", err)
	}
	t := plan(cfg)
	if err := ensurePKI(cfg, t); err != nil {
		return nil, fmt.Errorf("PKI: %w", err)
	}
	if err := upMgmt(ctx); err != nil {
		return nil, fmt.Errorf("management network: %w", err)
	}
	if err := upWAN(ctx); err != nil {
		return nil, fmt.Errorf("WAN: %w", err)
	}
	for i := range t.DCs {
		if err := upDC(ctx, &t.DCs[i]); err != nil {
			return nil, fmt.Errorf("%s: %w", t.DCs[i].Name, err)
		}
		cfg.Log.Info("lab: datacenter up", "dc", t.DCs[i].Name, "rloc", t.DCs[i].RLOC,
			"ovsdb", t.DCs[i].OVSDB)
	}
	for _, l := range t.LANs {
		if err := upLAN(ctx, l, t.Networks); err != nil {
			return nil, fmt.Errorf("LAN of %s: %w", l.Site, err)
		}
	}
	for _, h := range t.Hosts {
		if err := upHost(ctx, h); err != nil {
			return nil, fmt.Errorf("host %s: %w", h.Name, err)
		}
	}
	if err := t.save(); err != nil {
		return nil, err
	}
	if cfg.Register {
		if err := Register(ctx, cfg, t); err != nil {
			return t, fmt.Errorf("register with controller: %w", err)
		}
		// Save again so the new sites' auth keys are recorded.
		if err := t.save(); err != nil {
			return t, err
		}
	}
	cfg.Log.Info("lab: up", "dcs", len(t.DCs), "hosts", len(t.Hosts), "topology", TopologyPath(t.RunDir))
	return t, nil
}

// ensurePKI makes the lab's CA and controller certificate unless PKIDir
// has them, and each DC's xTR bundle that is missing, so every switch
// proves its xTR's name over OpenFlow and OVSDB.
func ensurePKI(cfg Config, t *Topology) error {
	if cfg.Plaintext {
		return nil
	}
	if _, err := pki.LoadAuthority(cfg.PKIDir); errors.Is(err, os.ErrNotExist) {
		ips := []netip.Addr{netip.MustParseAddr(MgmtAddr), netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("::1")}
		if _, err := pki.Init(cfg.PKIDir, pki.Options{Hosts: []string{"localhost"}, IPs: ips}); err != nil {
			return err
		}
		cfg.Log.Info("lab: created PKI", "dir", cfg.PKIDir)
	} else if err != nil {
		return err
	}
	for _, d := range t.DCs {
		if _, err := os.Stat(filepath.Join(d.TLSDir, pki.BundleCert)); err == nil {
			continue
		}
		if _, err := pki.IssueXTR(cfg.PKIDir, d.XTR, pki.Options{IPs: []netip.Addr{d.MgmtAddr}, Force: true}); err != nil {
			return err
		}
	}
	return nil
}

// upMgmt makes the root-namespace bridge the controller listens behind.
func upMgmt(ctx context.Context) error {
	for _, args := range [][]string{
		{"link", "add", MgmtBridge, "type", "bridge"},
		{"addr", "add", MgmtAddr + "/24", "dev", MgmtBridge},
		{"link", "set", MgmtBridge, "up"},
	} {
		if err := ip(ctx, "", args...); err != nil {
			return err
		}
	}
	return nil
}

// upWAN makes the namespace whose Linux bridge is the shared RLOC segment.
func upWAN(ctx context.Context) error {
	if err := addNetns(ctx, WANNetns); err != nil {
		return err
	}
	if err := sysctl(ctx, WANNetns, "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"); err != nil {
		return err
	}
	if err := ip(ctx, WANNetns, "link", "add", wanBridge, "mtu", strconv.Itoa(wanMTU), "type", "bridge"); err != nil {
		return err
	}
	return ip(ctx, WANNetns, "link", "set", wanBridge, "up")
}

// upDC makes the DC namespace, its WAN and management links, its OVS and
// br-phy carrying the RLOC.
func upDC(ctx context.Context, d *DC) error {
	if err := addNetns(ctx, d.Netns); err != nil {
		return err
	}
	// The DC namespace speaks IPv4 only (RLOCs, management); kernel IPv6
	// chatter on the access ports would only confuse the hosts.
	if err := sysctl(ctx, d.Netns, "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"); err != nil {
		return err
	}
	if err := upDCWAN(ctx, d); err != nil {
		return err
	}
	if err := upDCMgmt(ctx, d); err != nil {
		return err
	}
	o := d.OVS
	if err := o.Start(); err != nil {
		return fmt.Errorf("start OVS: %w", err)
	}
	if _, err := o.Vsctl("add-br", phyBridge,
		"--", "set", "bridge", phyBridge, "datapath_type=netdev",
		"--", "set", "interface", phyBridge, "mtu_request="+strconv.Itoa(wanMTU),
		"--", "add-port", phyBridge, wanPort); err != nil {
		return fmt.Errorf("create %s: %w", phyBridge, err)
	}
	// ovs-vsctl waited for ovs-vswitchd, so the internal (tap) port exists.
	for _, args := range [][]string{
		{"addr", "add", d.RLOC.String() + "/24", "dev", phyBridge},
		{"link", "set", phyBridge, "mtu", strconv.Itoa(wanMTU), "up"},
	} {
		if err := ip(ctx, d.Netns, args...); err != nil {
			return err
		}
	}
	return nil
}

// upDCWAN links the DC to the WAN bridge.
func upDCWAN(ctx context.Context, d *DC) error {
	mtu := strconv.Itoa(wanMTU)
	if err := ip(ctx, "", "link", "add", wanPort, "netns", d.Netns, "mtu", mtu, "type", "veth",
		"peer", "name", d.Name, "netns", WANNetns, "mtu", mtu); err != nil {
		return err
	}
	if err := ip(ctx, WANNetns, "link", "set", d.Name, "master", wanBridge, "up"); err != nil {
		return err
	}
	if err := ip(ctx, d.Netns, "link", "set", wanPort, "up"); err != nil {
		return err
	}
	if err := txOff(ctx, WANNetns, d.Name); err != nil {
		return err
	}
	return txOff(ctx, d.Netns, wanPort)
}

// upDCMgmt links the DC to the root-namespace management bridge.
func upDCMgmt(ctx context.Context, d *DC) error {
	if err := ip(ctx, "", "link", "add", d.MgmtLink, "type", "veth",
		"peer", "name", mgmtPort, "netns", d.Netns); err != nil {
		return err
	}
	if err := ip(ctx, "", "link", "set", d.MgmtLink, "master", MgmtBridge, "up"); err != nil {
		return err
	}
	if err := ip(ctx, d.Netns, "addr", "add", d.MgmtAddr.String()+"/24", "dev", mgmtPort); err != nil {
		return err
	}
	return ip(ctx, d.Netns, "link", "set", mgmtPort, "up")
}

// upHost makes a host namespace and its veth; the DC end is left for the
// controller to attach to br-int when the port is bound.
func upHost(ctx context.Context, h Host) error {
	dcNS := hostPortNetns(h)
	if err := addNetns(ctx, h.Netns); err != nil {
		return err
	}
	// Without DAD the v6 address is usable at once, not after a second.
	if err := sysctl(ctx, h.Netns, "net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0"); err != nil {
		return err
	}
	mtu := strconv.Itoa(hostMTU)
	if err := ip(ctx, "", "link", "add", h.Port, "netns", dcNS, "mtu", mtu, "type", "veth",
		"peer", "name", hostIf, "netns", h.Netns, "address", h.MAC, "mtu", mtu); err != nil {
		return err
	}
	for _, args := range [][]string{
		{"addr", "add", h.IPv4.String(), "dev", hostIf},
		{"addr", "add", h.IPv6.String(), "dev", hostIf, "nodad"},
		{"link", "set", hostIf, "up"},
	} {
		if err := ip(ctx, h.Netns, args...); err != nil {
			return err
		}
	}
	if err := txOff(ctx, h.Netns, hostIf); err != nil {
		return err
	}
	if h.LAN != "" {
		return upLANHost(ctx, h)
	}
	if err := ip(ctx, dcNS, "link", "set", h.Port, "up"); err != nil {
		return err
	}
	return txOff(ctx, dcNS, h.Port)
}
