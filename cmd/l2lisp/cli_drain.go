package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/l2lisp/l2lisp/northbound/client"
)

// drainVerbs are xtr drain and undrain: planned maintenance of an xTR of a
// multihomed site.
func drainVerbs() []verb {
	mk := func(name, help string, drained bool) verb {
		return verb{name: name, args: "NAME", min: 1, max: 1, help: help,
			setup: func(fs *flag.FlagSet) runner {
				wait := fs.Duration("wait", 30*time.Second, "wait until every connected switch holds the result (0: do not wait; at most 5m)")
				return func(ctx context.Context, x *session, a []string) error {
					call := x.c.DrainXTR
					if !drained {
						call = x.c.UndrainXTR
					}
					return show(ctx, x, func(ctx context.Context) (client.DrainResult, error) { return call(ctx, a[0], *wait) },
						func(w io.Writer, r client.DrainResult) { drainDetail(w, r, drained) })
				}
			}}
	}
	return []verb{
		mk("drain", "take an xTR out of service before maintenance: it stops being a designated forwarder, remote sites stop sending to it; once converged it can be stopped without loss", true),
		mk("undrain", "put a drained xTR back in service", false),
	}
}

func drainDetail(w io.Writer, r client.DrainResult, drained bool) {
	state := map[bool]string{true: "drained", false: "in service"}[drained]
	switch {
	case r.EventID == 0:
		row(w, r.XTR.Name+":", "already "+state)
	default:
		row(w, r.XTR.Name+":", fmt.Sprintf("%s (event %d)", state, r.EventID))
	}
	if r.Converged != nil {
		row(w, "switches:", map[bool]string{true: "converged", false: "NOT converged before the wait ended"}[*r.Converged])
	}
	row(w, "designated forwarder of:", iidList(r.XTR.Locator.DesignatedForwarder))
}

func iidList(iids []uint32) string {
	if len(iids) == 0 {
		return "none"
	}
	s := make([]string, len(iids))
	for i, v := range iids {
		s[i] = fmt.Sprint(v)
	}
	return strings.Join(s, ",")
}

// locatorDetail are the xtr show rows of an xTR's locator.
func locatorDetail(w io.Writer, t client.XTR) {
	state := map[bool]string{true: "up", false: "DOWN"}[t.Locator.Up]
	if t.Drained {
		state += ", drained"
	}
	row(w, "locator:", state)
	row(w, "designated forwarder of:", iidList(t.Locator.DesignatedForwarder))
	peers := make([]string, 0, len(t.Locator.BFD))
	for p := range t.Locator.BFD {
		peers = append(peers, p)
	}
	sort.Strings(peers)
	for i, p := range peers {
		peers[i] = p + " " + t.Locator.BFD[p]
	}
	if len(peers) > 0 {
		row(w, "bfd:", strings.Join(peers, ", "))
	}
}
