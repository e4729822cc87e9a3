package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/l2lisp/l2lisp/test/lab"
)

const labUsage = `usage: l2lisp lab up|down|status [flags]

  up      build the local multi-datacenter lab (namespaces, OVS, WAN, hosts)
          and optionally register it with a running controller; TLS on
          every channel by default, with the xTR certificates of -pki DIR
  down    remove everything a lab made, also after a killed run
  status  report whether each namespace, link and OVS daemon is alive

run "l2lisp lab CMD -h" for the flags of CMD`

// cmdLab runs the lab subcommands; they need root.
func cmdLab(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return errors.New(labUsage)
	}
	var err error
	switch args[0] {
	case "up":
		err = labUp(ctx, args[1:], os.Stdout)
	case "down":
		err = labDown(ctx, args[1:])
	case "status":
		err = labStatus(ctx, args[1:], os.Stdout)
	case "-h", "-help", "--help", "help":
		fmt.Fprintln(os.Stdout, labUsage)
	default:
		err = fmt.Errorf("unknown command %q\n%s", args[0], labUsage)
	}
	// -h already printed the flags; asking for help is not a failure.
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	return err
}

func labUp(ctx context.Context, args []string, w io.Writer) error {
	fs := flag.NewFlagSet("lab up", flag.ContinueOnError)
	var cfg lab.Config
	fs.IntVar(&cfg.DCs, "dcs", 3, "number of datacenters (1..20)")
	fs.IntVar(&cfg.HostsPerNetwork, "hosts", 2, "hosts per tenant network per datacenter (1..9)")
	fs.IntVar(&cfg.Edges, "edges", 1, "edges (xTRs) per datacenter, sharing the datacenter's host LAN: a multihomed site (1..2)")
	fs.StringVar(&cfg.RunDir, "run-dir", lab.DefaultRunDir, "directory for OVS instances and topology.json")
	fs.BoolVar(&cfg.Register, "register", false, "register networks, sites, xTRs and ports with the controller")
	fs.StringVar(&cfg.PKIDir, "pki", "", "PKI directory (l2lisp pki layout): its CA signs each DC's xTR certificate, made there if missing; default RUN-DIR/pki, created afresh")
	fs.BoolVar(&cfg.Plaintext, "plaintext", false, "no TLS: OVSDB over unix sockets, switches on tcp: OpenFlow (for serve --insecure-plaintext)")
	fs.StringVar(&cfg.CAFile, "ca", labEnvOr("L2LISP_CA", ""), "CA certificate the controller's REST certificate chains to, for -register (env L2LISP_CA; default the PKI's ca.pem)")
	fs.StringVar(&cfg.APIURL, "api", labEnvOr("L2LISP_API", "https://127.0.0.1:8080"), "controller REST base URL (env L2LISP_API)")
	fs.StringVar(&cfg.Token, "token", os.Getenv("L2LISP_TOKEN"), "admin bearer token (env L2LISP_TOKEN)")
	fs.BoolVar(&cfg.StaticHosts, "static-hosts", false, "with -register, also add a static mapping per host MAC")
	encap := fs.String("encap", "", "with -register, the networks' encapsulation: lisp-gpe or vxlan for all, "+
		"or NETWORK=ENCAP,... (blue=lisp-gpe,red=vxlan); empty: the controller's default")
	asJSON := fs.Bool("json", false, "print the topology as JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	nets, err := lab.WithEncapsulations(lab.DefaultNetworks, *encap)
	if err != nil {
		return fmt.Errorf("--encap: %w", err)
	}
	cfg.Networks = nets
	release, err := lab.Lock(ctx)
	if err != nil {
		return err
	}
	defer release()
	t, err := lab.Up(ctx, cfg)
	if t != nil {
		if perr := labPrintTopology(w, t, *asJSON); perr != nil && err == nil {
			err = perr
		}
	}
	return err
}

func labDown(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("lab down", flag.ContinueOnError)
	var cfg lab.Config
	fs.StringVar(&cfg.RunDir, "run-dir", lab.DefaultRunDir, "directory the lab was built in")
	if err := fs.Parse(args); err != nil {
		return err
	}
	release, err := lab.Lock(ctx)
	if err != nil {
		return err
	}
	defer release()
	return lab.Down(ctx, cfg)
}

func labStatus(ctx context.Context, args []string, w io.Writer) error {
	fs := flag.NewFlagSet("lab status", flag.ContinueOnError)
	var cfg lab.Config
	fs.StringVar(&cfg.RunDir, "run-dir", lab.DefaultRunDir, "directory the lab was built in")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	r, err := lab.Status(ctx, cfg)
	if err != nil {
		return fmt.Errorf("is a lab up? %w", err)
	}
	if *asJSON {
		if err := labWriteJSON(w, r); err != nil {
			return err
		}
	} else {
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for _, c := range r.Checks {
			state := "up"
			if !c.Up {
				state = "DOWN"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\n", c.What, state, c.Detail)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if !r.AllUp() {
		return errors.New("not everything is up")
	}
	return nil
}

func labPrintTopology(w io.Writer, t *lab.Topology, asJSON bool) error {
	if asJSON {
		return labWriteJSON(w, t)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "controller\t%s (OpenFlow %s)\n\n", t.MgmtAddr, t.OpenFlow)
	if t.PKIDir != "" {
		fmt.Fprintf(tw, "PKI\t%s (xTR certificates in xtrs/NAME)\n\n", t.PKIDir)
	}
	fmt.Fprintln(tw, "DC\tNETNS\tRLOC\tMGMT\tOVSDB")
	for _, d := range t.DCs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", d.Name, d.Netns, d.RLOC, d.MgmtAddr, d.OVSDB)
	}
	fmt.Fprintln(tw, "\nNETWORK\tIID\tENCAPSULATION")
	for _, n := range t.Networks {
		e := n.Encapsulation
		if e == "" {
			e = "(controller default)"
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\n", n.Name, n.InstanceID, e)
	}
	if len(t.LANs) > 0 {
		fmt.Fprintln(tw, "\nSITE LAN\tNETNS\tUPLINKS (xTR:port)")
		for _, l := range t.LANs {
			var ups []string
			for _, u := range l.Uplinks {
				ups = append(ups, u.XTR+":"+u.Port)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\n", l.Site, l.Netns, strings.Join(ups, " "))
		}
	}
	fmt.Fprintln(tw, "\nHOST\tNETWORK\tIID\tMAC\tIPV4\tIPV6\tDC\tPORT")
	for _, h := range t.Hosts {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\tdc%d\t%s\n",
			h.Netns, h.Network, h.InstanceID, h.MAC, h.IPv4, h.IPv6, h.DC, h.Port)
	}
	fmt.Fprintf(tw, "\ntopology written to %s\n", lab.TopologyPath(t.RunDir))
	return tw.Flush()
}

func labWriteJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func labEnvOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
