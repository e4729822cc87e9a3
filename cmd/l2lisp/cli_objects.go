package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/l2lisp/l2lisp/northbound/client"
)

// Verbs of networks, sites, xTRs and ports.

func networkVerbs() []verb {
	return []verb{
		{name: "add", args: "IID NAME", min: 2, max: 2,
			help: "create a tenant network (a LISP instance-id): [--encap lisp-gpe|vxlan] [--mode push|on-demand|auto [--auto-threshold N]]",
			setup: func(fs *flag.FlagSet) runner {
				encap := fs.String("encap", "", "data-plane encapsulation: lisp-gpe (LISP-GPE on UDP 4341, the default) or vxlan (UDP 4789)")
				mode := fs.String("mode", "", modeHelp)
				threshold := fs.Int64("auto-threshold", -1, thresholdHelp)
				return func(ctx context.Context, x *session, a []string) error {
					iid, err := parseIID(a[0])
					if err != nil {
						return err
					}
					in := client.NetworkInput{InstanceID: iid, Name: a[1], Encapsulation: *encap, ForwardingMode: *mode}
					if *threshold >= 0 {
						in.AutoThreshold = threshold
					}
					return show(ctx, x, func(ctx context.Context) (client.Network, error) {
						return x.c.CreateNetwork(ctx, in)
					}, func(w io.Writer, n client.Network) { networkTable(w, []client.Network{n}) })
				}
			}},
		{name: "set", args: "IID", min: 1, max: 1,
			help: "change a network: --encap lisp-gpe|vxlan, --mode push|on-demand|auto, --auto-threshold N (its switches are recompiled, other networks untouched)",
			setup: func(fs *flag.FlagSet) runner {
				encap := fs.String("encap", "", "new data-plane encapsulation: lisp-gpe or vxlan")
				mode := fs.String("mode", "", modeHelp)
				threshold := fs.Int64("auto-threshold", 0, thresholdHelp)
				return func(ctx context.Context, x *session, a []string) error {
					iid, err := parseIID(a[0])
					if err != nil {
						return err
					}
					var in client.NetworkChange
					fs.Visit(func(fl *flag.Flag) {
						switch fl.Name {
						case "encap":
							in.Encapsulation = encap
						case "mode":
							in.ForwardingMode = mode
						case "auto-threshold":
							in.AutoThreshold = threshold
						}
					})
					if in.Encapsulation == nil && in.ForwardingMode == nil && in.AutoThreshold == nil {
						return usagef("nothing to change: give --encap, --mode or --auto-threshold")
					}
					return show(ctx, x, func(ctx context.Context) (client.Network, error) {
						return x.c.UpdateNetwork(ctx, iid, in)
					}, func(w io.Writer, n client.Network) { networkTable(w, []client.Network{n}) })
				}
			}},
		{name: "list", help: "list tenant networks", setup: noFlags(func(ctx context.Context, x *session, _ []string) error {
			return show(ctx, x, x.c.Networks, networkTable)
		})},
		{name: "show", args: "IID", min: 1, max: 1, help: "show a network",
			setup: noFlags(func(ctx context.Context, x *session, a []string) error {
				iid, err := parseIID(a[0])
				if err != nil {
					return err
				}
				return show(ctx, x, func(ctx context.Context) (client.Network, error) { return x.c.Network(ctx, iid) },
					func(w io.Writer, n client.Network) { networkTable(w, []client.Network{n}) })
			})},
		{name: "rm", args: "IID", min: 1, max: 1, help: "delete a network and its mappings",
			setup: noFlags(func(ctx context.Context, x *session, a []string) error {
				iid, err := parseIID(a[0])
				if err != nil {
					return err
				}
				return act(ctx, x, func(ctx context.Context) error { return x.c.DeleteNetwork(ctx, iid) }, "deleted network %d", iid)
			})},
	}
}

// Help of the forwarding-mode flags of network add and set.
const (
	modeHelp = "forwarding mode: push (every switch holds every remote host: small networks, the default), " +
		"on-demand (a switch holds only the remote hosts its hosts send to), or auto (on-demand above --auto-threshold hosts)"
	thresholdHelp = "auto: the number of hosts (MAC EIDs) above which the network forwards on demand (default 10000)"
)

func networkTable(w io.Writer, ns []client.Network) {
	row(w, "IID", "NAME", "ENCAPSULATION", "MODE", "CREATED")
	for _, n := range ns {
		mode := n.ForwardingMode
		if mode == "auto" {
			mode = fmt.Sprintf("auto (>%d)", n.AutoThreshold)
		}
		row(w, n.InstanceID, n.Name, n.Encapsulation, mode, fmtTime(n.CreatedAt))
	}
}

// siteFlags are the settable fields of a site; only the given ones are sent.
type siteFlags struct {
	authKey                   string
	anyMAC                    bool
	networks, prefixs         listFlag
	macPrefixes, rlocPrefixes listFlag
}

func (f *siteFlags) define(fs *flag.FlagSet) {
	fs.StringVar(&f.authKey, "auth-key", "", "the site's Map-Register key (at least 8 characters)")
	fs.Var(&f.networks, "networks", "instance-ids the site may use, comma-separated")
	fs.Var(&f.prefixs, "eid-prefixes", "IP prefixes the site's EIDs lie in, comma-separated; Map-Registers may claim only IP EIDs inside them")
	fs.Var(&f.macPrefixes, "mac-prefixes", "MAC blocks the site's Map-Registers may claim, e.g. 02:00:10:00:00:00/24, comma-separated")
	fs.Var(&f.macPrefixes, "mac-prefix", "same as --mac-prefixes")
	fs.BoolVar(&f.anyMAC, "any-mac", false, "let the site's Map-Registers claim any MAC (--any-mac=false turns it off)")
	fs.Var(&f.rlocPrefixes, "rloc-prefixes", "if set, the only RLOCs the site's Map-Registers may carry, comma-separated")
	fs.Var(&f.rlocPrefixes, "rloc-prefix", "same as --rloc-prefixes")
}

func (f *siteFlags) input(fs *flag.FlagSet, name string) (client.SiteInput, error) {
	in := client.SiteInput{Name: name, EIDPrefixes: f.prefixs.v, MACPrefixes: f.macPrefixes.v, RLOCPrefixes: f.rlocPrefixes.v}
	fs.Visit(func(fl *flag.Flag) {
		switch fl.Name {
		case "auth-key":
			in.AuthKey = &f.authKey
		case "any-mac":
			in.AnyMAC = &f.anyMAC
		}
	})
	nets, err := f.networks.ints("networks")
	in.Networks = nets
	return in, err
}

// siteVerb is add or set: both send the site flags, add by POST, set by PATCH.
func siteVerb(name, help string, send func(ctx context.Context, c *client.Client, name string, in client.SiteInput) (client.Site, error)) verb {
	return verb{name: name, args: "NAME", min: 1, max: 1, help: help, setup: func(fs *flag.FlagSet) runner {
		var f siteFlags
		f.define(fs)
		return func(ctx context.Context, x *session, a []string) error {
			in, err := f.input(fs, a[0])
			if err != nil {
				return err
			}
			return show(ctx, x, func(ctx context.Context) (client.Site, error) { return send(ctx, x.c, a[0], in) }, siteDetail)
		}
	}}
}

func siteVerbs() []verb {
	return []verb{
		siteVerb("add", "create a site (a datacenter): --auth-key K --networks IID,... [--eid-prefixes P,...] [--mac-prefixes M/LEN,...|--any-mac] [--rloc-prefixes P,...]",
			func(ctx context.Context, c *client.Client, _ string, in client.SiteInput) (client.Site, error) {
				return c.CreateSite(ctx, in)
			}),
		{name: "list", help: "list sites", setup: noFlags(func(ctx context.Context, x *session, _ []string) error {
			return show(ctx, x, x.c.Sites, func(w io.Writer, ss []client.Site) {
				row(w, "NAME", "NETWORKS", "EID PREFIXES", "MAC SCOPE", "RLOC PREFIXES", "UPDATED")
				for _, s := range ss {
					row(w, s.Name, joinList(s.Networks), orText(joinList(s.EIDPrefixes), "-"), macScope(s),
						orText(joinList(s.RLOCPrefixes), "any"), fmtTime(s.UpdatedAt))
				}
			})
		})},
		{name: "show", args: "NAME", min: 1, max: 1, help: "show a site",
			setup: noFlags(func(ctx context.Context, x *session, a []string) error {
				return show(ctx, x, func(ctx context.Context) (client.Site, error) { return x.c.Site(ctx, a[0]) }, siteDetail)
			})},
		siteVerb("set", "change a site: only the given flags change; '' empties a list",
			func(ctx context.Context, c *client.Client, name string, in client.SiteInput) (client.Site, error) {
				in.Name = ""
				return c.UpdateSite(ctx, name, in)
			}),
		{name: "rm", args: "NAME", min: 1, max: 1, help: "delete a site that has no xTRs",
			setup: noFlags(func(ctx context.Context, x *session, a []string) error {
				return act(ctx, x, func(ctx context.Context) error { return x.c.DeleteSite(ctx, a[0]) }, "deleted site %s", a[0])
			})},
	}
}

func siteDetail(w io.Writer, s client.Site) {
	row(w, "name:", s.Name)
	row(w, "networks:", joinList(s.Networks))
	row(w, "eid prefixes:", orText(joinList(s.EIDPrefixes), "none (Map-Registers may claim no IP EID)"))
	row(w, "mac scope:", macScope(s))
	row(w, "rloc prefixes:", orText(joinList(s.RLOCPrefixes), "(any)"))
	row(w, "created:", fmtTime(s.CreatedAt))
	row(w, "updated:", fmtTime(s.UpdatedAt))
}

// macScope says which MAC EIDs the site may register.
func macScope(s client.Site) string {
	if s.AnyMAC {
		return "any"
	}
	return orText(joinList(s.MACPrefixes), "none")
}

func orText(s, empty string) string {
	if s == "" {
		return empty
	}
	return s
}

func xtrVerbs() []verb {
	return append([]verb{
		{name: "add", args: "NAME", min: 1, max: 1, help: "register an edge switch: --site S --rloc ADDR [--ovsdb tcp:H:P] ...",
			setup: func(fs *flag.FlagSet) runner {
				var site string
				var in client.XTRInput
				var prio, weight optInt
				fs.StringVar(&site, "site", "", "the xTR's site (required)")
				fs.StringVar(&in.RLOC, "rloc", "", "the xTR's RLOC: its underlay IP address (required)")
				fs.StringVar(&in.OVSDB, "ovsdb", "", "OVSDB target: tcp:host:port, ssl:host:port or unix:/path")
				fs.StringVar(&in.Bridge, "bridge", "", "bridge name (default br-int)")
				fs.StringVar(&in.DatapathType, "datapath-type", "", "system or netdev")
				fs.StringVar(&in.OpenFlowTarget, "openflow-target", "", "controller target the switch connects to")
				fs.StringVar(&in.TLSDir, "tls-dir", "", "directory on the switch host with its key.pem, cert.pem and ca.pem, for ssl: targets (default /etc/openvswitch/l2lisp)")
				fs.Var(&prio, "priority", "RLOC priority 0-255 (default 1)")
				fs.Var(&weight, "weight", "RLOC weight 0-255 (default 100)")
				return func(ctx context.Context, x *session, a []string) error {
					if site == "" {
						return usagef("--site is required")
					}
					in.Name, in.Priority, in.Weight = a[0], prio.v, weight.v
					return show(ctx, x, func(ctx context.Context) (client.XTR, error) { return x.c.CreateXTR(ctx, site, in) }, xtrDetail)
				}
			}},
		{name: "list", help: "list xTRs with their connection state", setup: noFlags(func(ctx context.Context, x *session, _ []string) error {
			return show(ctx, x, x.c.XTRs, func(w io.Writer, xs []client.XTR) {
				row(w, "NAME", "SITE", "RLOC", "BRIDGE", "OVSDB", "OPENFLOW", "FLOWS")
				for _, t := range xs {
					row(w, t.Name, t.Site, t.RLOC, t.Bridge, upDown(t.Status.OVSDB), upDown(t.Status.OpenFlow), t.Status.Flows)
				}
			})
		})},
		{name: "show", args: "NAME", min: 1, max: 1, help: "show an xTR with its OVSDB and OpenFlow state and flow count",
			setup: noFlags(func(ctx context.Context, x *session, a []string) error {
				return show(ctx, x, func(ctx context.Context) (client.XTR, error) { return x.c.XTR(ctx, a[0]) }, xtrDetail)
			})},
		{name: "rm", args: "NAME", min: 1, max: 1, help: "delete an xTR; the controller removes what it added to the switch",
			setup: noFlags(func(ctx context.Context, x *session, a []string) error {
				return act(ctx, x, func(ctx context.Context) error { return x.c.DeleteXTR(ctx, a[0]) }, "deleted xTR %s", a[0])
			})},
	}, drainVerbs()...)
}

func upDown(s client.ConnState) string {
	if s.Connected {
		return "up"
	}
	return "down"
}

// connDetail is one connection's state, with since when and the last error.
func connDetail(s client.ConnState) string {
	out := upDown(s)
	if !s.Since.IsZero() {
		out += " since " + fmtTime(s.Since)
	}
	if s.LastError != "" {
		out += " (last error: " + s.LastError + ")"
	}
	return out
}

func xtrDetail(w io.Writer, t client.XTR) {
	row(w, "name:", t.Name)
	row(w, "site:", t.Site)
	row(w, "rloc:", fmt.Sprintf("%s priority %d weight %d", t.RLOC, t.Priority, t.Weight))
	row(w, "bridge:", t.Bridge)
	row(w, "datapath:", strings.TrimSpace(t.DatapathID+" "+t.DatapathType))
	row(w, "ovsdb target:", t.OVSDB)
	row(w, "openflow target:", t.OpenFlowTarget)
	row(w, "tls dir:", t.TLSDir)
	row(w, "ovsdb:", connDetail(t.Status.OVSDB))
	row(w, "openflow:", connDetail(t.Status.OpenFlow))
	row(w, "flows:", t.Status.Flows)
	locatorDetail(w, t)
	row(w, "created:", fmtTime(t.CreatedAt))
}

func portVerbs() []verb {
	return []verb{
		{name: "add", args: "XTR PORT", min: 2, max: 2, help: "bind an access port of an xTR to a network: --iid N",
			setup: func(fs *flag.FlagSet) runner {
				var iid optInt
				fs.Var(&iid, "iid", "instance-id of the port's network (required)")
				return func(ctx context.Context, x *session, a []string) error {
					if iid.v == nil {
						return usagef("--iid is required")
					}
					return show(ctx, x, func(ctx context.Context) (client.Port, error) {
						return x.c.BindPort(ctx, a[0], client.PortInput{Name: a[1], InstanceID: *iid.v})
					}, func(w io.Writer, p client.Port) { portTable(w, []client.Port{p}) })
				}
			}},
		{name: "list", args: "XTR", min: 1, max: 1, help: "list the bound ports of an xTR",
			setup: noFlags(func(ctx context.Context, x *session, a []string) error {
				return show(ctx, x, func(ctx context.Context) ([]client.Port, error) { return x.c.Ports(ctx, a[0]) }, portTable)
			})},
		{name: "rm", args: "XTR PORT", min: 2, max: 2, help: "unbind an access port",
			setup: noFlags(func(ctx context.Context, x *session, a []string) error {
				return act(ctx, x, func(ctx context.Context) error { return x.c.UnbindPort(ctx, a[0], a[1]) },
					"unbound port %s of %s", a[1], a[0])
			})},
	}
}

func portTable(w io.Writer, ps []client.Port) {
	row(w, "XTR", "PORT", "IID", "OFPORT", "CREATED")
	for _, p := range ps {
		row(w, p.XTR, p.Name, p.InstanceID, p.OFPort, fmtTime(p.CreatedAt))
	}
}
