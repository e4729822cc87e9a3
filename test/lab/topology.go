package lab

import (
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"

	"github.com/l2lisp/l2lisp/pki"
)

// Topology is what Up built; it is also written to RunDir/topology.json.
type Topology struct {
	RunDir   string    `json:"run_dir"`
	MgmtAddr string    `json:"mgmt_addr"` // controller side, 203.0.113.254
	OpenFlow string    `json:"openflow"`  // where switches find the controller
	PKIDir   string    `json:"pki_dir,omitempty"`
	WANNetns string    `json:"wan_netns"`
	Networks []Network `json:"networks"`
	DCs      []DC      `json:"dcs"`
	Hosts    []Host    `json:"hosts"`
	LANs     []LAN     `json:"lans,omitempty"` // host LANs of multihomed sites
}

// DC is one datacenter: a namespace with its own OVS and RLOC.
type DC struct {
	Index    int        `json:"index"` // 1-based
	Name     string     `json:"name"`  // dcN, also the site name
	XTR      string     `json:"xtr"`   // dcN-edge
	Netns    string     `json:"netns"`
	RLOC     netip.Addr `json:"rloc"`
	MgmtAddr netip.Addr `json:"mgmt_addr"`
	MgmtLink string     `json:"mgmt_link"` // root-namespace end on the mgmt bridge
	OVS      *OVS       `json:"ovs"`
	OVSDB    string     `json:"ovsdb"`             // the endpoint the controller provisions through
	TLSDir   string     `json:"tls_dir,omitempty"` // the xTR's key, certificate and CA (pki bundle)
	// AuthKey is the site key, known only when this Up created the site.
	AuthKey string `json:"auth_key,omitempty"`
	// Site and Edge place the entry in a multihomed site (Config.Edges >
	// 1): edge 1 is named as a single-homed DC, the others dcN-eK.
	Site string `json:"site,omitempty"`
	Edge int    `json:"edge,omitempty"`
}

// Host is one tenant host: a namespace whose eth0 is a veth to its DC.
type Host struct {
	Name       string       `json:"name"` // dcN-net-hK, stays with the host when it moves
	Netns      string       `json:"netns"`
	Network    string       `json:"network"`
	InstanceID uint32       `json:"instance_id"`
	MAC        string       `json:"mac"`
	IPv4       netip.Prefix `json:"ipv4"`
	IPv6       netip.Prefix `json:"ipv6"`
	DC         int          `json:"dc"`   // index of the DC its port is in now
	Port       string       `json:"port"` // the veth end in the DC namespace, as bound through REST
	// LAN is the namespace of the site LAN its port is on instead, at a
	// multihomed site (the port is then not bound; the edges' uplinks are).
	LAN string `json:"lan,omitempty"`
}

// HardwareAddr returns the host's MAC parsed.
func (h Host) HardwareAddr() net.HardwareAddr {
	m, _ := net.ParseMAC(h.MAC)
	return m
}

// DC returns the datacenter with 1-based index i, or nil.
func (t *Topology) DC(i int) *DC {
	for k := range t.DCs {
		if t.DCs[k].Index == i {
			return &t.DCs[k]
		}
	}
	return nil
}

// Host returns the host with the given name, or nil.
func (t *Topology) Host(name string) *Host {
	for k := range t.Hosts {
		if t.Hosts[k].Name == name {
			return &t.Hosts[k]
		}
	}
	return nil
}

// HostsIn lists the hosts of one network whose port is in DC i (0: any DC).
func (t *Topology) HostsIn(network string, i int) []Host {
	var out []Host
	for _, h := range t.Hosts {
		if h.Network == network && (i == 0 || h.DC == i) {
			out = append(out, h)
		}
	}
	return out
}

func dcNetns(i int) string { return fmt.Sprintf("%s-dc%d", Prefix, i) }

// plan derives the whole topology from the config, touching nothing, so
// names and addresses are the same on every run.
func plan(c Config) *Topology {
	t := &Topology{
		RunDir: c.RunDir, MgmtAddr: MgmtAddr, OpenFlow: ControllerOFTLS, PKIDir: c.PKIDir,
		WANNetns: WANNetns, Networks: c.Networks,
	}
	if c.Plaintext {
		t.OpenFlow = ControllerOF
	}
	for n := 1; n <= c.DCs; n++ {
		name := fmt.Sprintf("dc%d", n)
		d := DC{
			Index: n, Name: name, XTR: name + "-edge", Netns: dcNetns(n),
			RLOC:     netip.AddrFrom4([4]byte{192, 0, 2, byte(n)}),
			MgmtAddr: netip.AddrFrom4([4]byte{203, 0, 113, byte(n)}),
			MgmtLink: fmt.Sprintf("%s-m%d", Prefix, n),
			OVS:      &OVS{Dir: filepath.Join(c.RunDir, name), Netns: dcNetns(n)},
		}
		secureDC(c, &d)
		t.DCs = append(t.DCs, d)
		for _, nw := range c.Networks {
			for k := 1; k <= c.HostsPerNetwork; k++ {
				t.Hosts = append(t.Hosts, planHost(n, k, nw))
			}
		}
	}
	planMultihome(c, t)
	return t
}

// secureDC sets a DC's OVSDB endpoint: TLS on its management address with
// its xTR's certificate, or the unix socket without TLS.
func secureDC(c Config, d *DC) {
	d.OVSDB = d.OVS.DBSock()
	if !c.Plaintext {
		d.TLSDir = pki.XTRBundle(c.PKIDir, d.XTR)
		d.OVSDB = fmt.Sprintf("ssl:%s:%d", d.MgmtAddr, OVSDBPort)
		d.OVS.SSL = &SSL{PrivateKey: filepath.Join(d.TLSDir, pki.BundleKey),
			Certificate: filepath.Join(d.TLSDir, pki.BundleCert), CACert: filepath.Join(d.TLSDir, pki.BundleCA),
			Remote: fmt.Sprintf("pssl:%d:%s", OVSDBPort, d.MgmtAddr)}
	}
}

func planHost(n, k int, nw Network) Host {
	name := fmt.Sprintf("dc%d-%s-h%d", n, nw.Name, k)
	octet := byte(10*n + k)
	iid := nw.InstanceID
	// 02:II:II:II:DC:K is locally administered and unique across networks.
	mac := net.HardwareAddr{0x02, byte(iid >> 16), byte(iid >> 8), byte(iid), byte(n), byte(k)}
	v6 := netip.MustParseAddr(fmt.Sprintf("2001:db8:100::%d", 10*n+k))
	return Host{
		Name: name, Netns: Prefix + "-" + name, Network: nw.Name, InstanceID: iid,
		MAC:  mac.String(),
		IPv4: netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 51, 100, octet}), 24),
		IPv6: netip.PrefixFrom(v6, 64),
		DC:   n, Port: name,
	}
}

// TopologyPath is where Up writes the topology of a lab in runDir.
func TopologyPath(runDir string) string { return filepath.Join(runDir, "topology.json") }

func (t *Topology) save() error {
	b, err := json.MarshalIndent(t, "", "  ")
	if err != nil {
		return fmt.Errorf("encode topology: %w", err)
	}
	p := TopologyPath(t.RunDir)
	if err := os.WriteFile(p+".tmp", append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write topology: %w", err)
	}
	if err := os.Rename(p+".tmp", p); err != nil {
		return fmt.Errorf("write topology: %w", err)
	}
	return nil
}

// Load reads the topology a previous Up wrote in runDir ("" for the default).
func Load(runDir string) (*Topology, error) {
	if runDir == "" {
		runDir = DefaultRunDir
	}
	b, err := os.ReadFile(TopologyPath(runDir))
	if err != nil {
		return nil, fmt.Errorf("read topology: %w", err)
	}
	var t Topology
	if err := json.Unmarshal(b, &t); err != nil {
		return nil, fmt.Errorf("decode %s: %w", TopologyPath(runDir), err)
	}
	return &t, nil
}
