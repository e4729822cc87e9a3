package lab

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"slices"
	"strings"

	"github.com/l2lisp/l2lisp/pki"
)

// Prefix starts every namespace, root-namespace link and directory the lab
// makes, so Down can find them by name even when no topology file survived.
const Prefix = "l2lab"

// DefaultRunDir holds the OVS instances and topology.json.
const DefaultRunDir = "/run/" + Prefix

// Fixed addressing of the lab; all documentation ranges.
const (
	MgmtBridge   = Prefix + "-mgmt" // Linux bridge in the root namespace
	MgmtAddr     = "203.0.113.254"  // the controller's side of the management network
	WANNetns     = Prefix + "-wan"
	ControllerOF = "tcp:" + MgmtAddr + ":6653" // with Plaintext
	// ControllerOFTLS is where switches find the controller: OpenFlow over TLS.
	ControllerOFTLS = "ssl:" + MgmtAddr + ":6653"
	// OVSDBPort is where each DC's ovsdb-server takes TLS connections, on
	// the DC's management address.
	OVSDBPort = 6640
	// Interface names inside the lab's own namespaces, which nobody else uses.
	wanBridge = "br-wan"
	wanPort   = "wan0"
	mgmtPort  = "mgmt0"
	hostIf    = "eth0"
	phyBridge = "br-phy"
	wanMTU    = 1600
	hostMTU   = 1450
)

// Network is a tenant Layer-2 segment, one LISP instance-id.
type Network struct {
	Name       string `json:"name"`
	InstanceID uint32 `json:"instance_id"`
	// Encapsulation is registered with the network: "lisp-gpe", "vxlan",
	// or empty for the controller's default (lisp-gpe).
	Encapsulation string `json:"encapsulation,omitempty"`
	// ForwardingMode is registered with the network: "push", "on-demand",
	// or empty for the controller's default (push).
	ForwardingMode string `json:"forwarding_mode,omitempty"`
}

// DefaultNetworks are the two tenants; their hosts reuse the same IPs.
var DefaultNetworks = []Network{{Name: "blue", InstanceID: 4100}, {Name: "red", InstanceID: 4200}}

// Config says what Up builds. The zero value builds the default lab
// without talking to a controller.
type Config struct {
	DCs             int       // datacenters, default 3
	Edges           int       // edges (xTRs) per datacenter on one shared host LAN, default 1 (multihome.go)
	HostsPerNetwork int       // hosts per tenant network per DC, default 2
	Networks        []Network // default DefaultNetworks
	RunDir          string    // default DefaultRunDir

	// PKIDir holds the lab's certificates in package pki's layout: Up
	// initialises it if it has no CA yet and issues each DC's xTR bundle
	// (xtrs/dcN-edge) that is missing. Default RunDir/pki, which Down
	// removes; give a directory of your own to start the controller with
	// its certificate before Up.
	PKIDir string
	// Plaintext builds the lab without TLS: OVSDB over unix sockets only and
	// switches pointed at tcp: OpenFlow, for serve --insecure-plaintext.
	Plaintext bool
	// CAFile is the CA the controller's REST certificate chains to when
	// registering over https; default PKIDir/ca.pem.
	CAFile string

	// Register makes Up create networks, sites, xTRs, port bindings (and,
	// with StaticHosts, static mappings) through the controller's REST API.
	Register    bool
	APIURL      string // e.g. http://127.0.0.1:8080
	Token       string // admin bearer token
	StaticHosts bool
	HTTPClient  *http.Client // default: 30 s timeout

	// Replicas > 0 makes Up start that many l2lisp serve processes of
	// Binary itself, on the management address with the lab's PKI
	// (replicas.go), and register through the one elected leader; APIURL
	// is then the leader's. Token is their admin token, made if empty.
	Replicas  int
	DB        string   // their database: postgres://...; a SQLite file only with one replica (default RunDir/l2lisp.db)
	Binary    string   // the l2lisp executable
	ServeArgs []string // more serve flags for every replica

	Log *slog.Logger // default slog.Default()
}

func (c Config) withDefaults() Config {
	if c.DCs == 0 {
		c.DCs = 3
	}
	if c.Edges == 0 {
		c.Edges = 1
	}
	if c.HostsPerNetwork == 0 {
		c.HostsPerNetwork = 2
	}
	if len(c.Networks) == 0 {
		c.Networks = DefaultNetworks
	}
	if c.RunDir == "" {
		c.RunDir = DefaultRunDir
	}
	if c.PKIDir == "" && !c.Plaintext {
		c.PKIDir = filepath.Join(c.RunDir, "pki")
	}
	if c.CAFile == "" && !c.Plaintext {
		c.CAFile = filepath.Join(c.PKIDir, pki.CAFile)
	}
	if c.Replicas == 1 && c.DB == "" {
		c.DB = filepath.Join(c.RunDir, "l2lisp.db")
	}
	if c.Log == nil {
		c.Log = slog.Default()
	}
	return c
}

// Validate reports what Up would refuse in cfg, before any lock is taken.
func (c Config) Validate() error { return c.withDefaults().validate() }

// validate keeps the numbering inside the address plan: host k of DC n
// gets .10n+k, so at most 20 DCs and 9 hosts per network.
func (c Config) validate() error {
	var errs []error
	if c.DCs < 1 || c.DCs > 20 {
		errs = append(errs, fmt.Errorf("DCs %d: want 1..20", c.DCs))
	}
	if c.Edges < 1 || c.Edges > MaxEdges {
		errs = append(errs, fmt.Errorf("Edges %d: want 1..%d", c.Edges, MaxEdges))
	}
	if c.HostsPerNetwork < 1 || c.HostsPerNetwork > 9 {
		errs = append(errs, fmt.Errorf("HostsPerNetwork %d: want 1..9", c.HostsPerNetwork))
	}
	seen := map[uint32]bool{}
	for _, n := range c.Networks {
		if n.Name == "" || len(n.Name) > 5 || strings.ContainsAny(n.Name, " -/") {
			errs = append(errs, fmt.Errorf("network name %q: want 1..5 chars without '-', '/' or space", n.Name))
		}
		if n.InstanceID == 0 || n.InstanceID > 1<<24-1 || seen[n.InstanceID] {
			errs = append(errs, fmt.Errorf("network %q: instance-id %d zero, too big or repeated", n.Name, n.InstanceID))
		}
		if err := checkEncap(n.Encapsulation); err != nil {
			errs = append(errs, fmt.Errorf("network %q: %w", n.Name, err))
		}
		seen[n.InstanceID] = true
	}
	if !strings.HasPrefix(c.RunDir, "/run/"+Prefix) && !strings.HasPrefix(c.RunDir, "/tmp/"+Prefix+"-") {
		errs = append(errs, fmt.Errorf("RunDir %q: must start with /run/%s or /tmp/%s-", c.RunDir, Prefix, Prefix))
	}
	if c.Register && c.APIURL == "" && c.Replicas == 0 {
		errs = append(errs, errors.New("Register needs APIURL"))
	}
	errs = append(errs, c.validateReplicas())
	return errors.Join(errs...)
}

// Encapsulations are the names the controller takes for a network's
// encapsulation (pipeline.EncapNames; the lab does not import the
// controller's packages: southbound tests use the lab).
var Encapsulations = []string{"lisp-gpe", "vxlan"}

// checkEncap accepts a known encapsulation or "" (the controller's default).
func checkEncap(e string) error {
	if e != "" && !slices.Contains(Encapsulations, e) {
		return fmt.Errorf("unknown encapsulation %q: want %s", e, strings.Join(Encapsulations, " or "))
	}
	return nil
}

// WithEncapsulations returns nets with encapsulations set from spec: one
// name for every network ("vxlan"), or NETWORK=ENCAP pairs separated by
// commas ("blue=lisp-gpe,red=vxlan"); networks not named keep theirs.
func WithEncapsulations(nets []Network, spec string) ([]Network, error) {
	out := append([]Network(nil), nets...)
	if spec == "" {
		return out, nil
	}
	if !strings.Contains(spec, "=") {
		if err := checkEncap(spec); err != nil {
			return nil, err
		}
		for i := range out {
			out[i].Encapsulation = spec
		}
		return out, nil
	}
	for _, pair := range strings.Split(spec, ",") {
		name, encap, ok := strings.Cut(strings.TrimSpace(pair), "=")
		if !ok {
			return nil, fmt.Errorf("%q: want NETWORK=ENCAP", pair)
		}
		if err := checkEncap(encap); err != nil {
			return nil, fmt.Errorf("network %s: %w", name, err)
		}
		found := false
		for i := range out {
			if out[i].Name == name {
				out[i].Encapsulation, found = encap, true
			}
		}
		if !found {
			return nil, fmt.Errorf("no network named %q", name)
		}
	}
	return out, nil
}
