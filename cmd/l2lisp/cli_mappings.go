package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/l2lisp/l2lisp/mapping"
	"github.com/l2lisp/l2lisp/northbound/client"
)

// Verbs of mappings, lookup and the change feed.

// eidVerb is a verb on one EID: --iid N EID.
func eidVerb(name, help string, run func(ctx context.Context, x *session, iid int64, eid string) error) verb {
	return verb{name: name, args: "EID", min: 1, max: 1, help: help, setup: func(fs *flag.FlagSet) runner {
		var iid optInt
		fs.Var(&iid, "iid", "instance-id of the EID (required)")
		return func(ctx context.Context, x *session, a []string) error {
			if iid.v == nil {
				return usagef("--iid is required")
			}
			return run(ctx, x, *iid.v, a[0])
		}
	}}
}

func mappingVerbs() []verb {
	return []verb{
		{name: "add", args: "EID", min: 1, max: 1, help: "create or replace a static mapping: --iid N --site S [--rloc ADDR/PRIO/WEIGHT]... [--ttl MIN]",
			setup: mappingAdd},
		{name: "list", help: "list mappings, a page at a time", setup: mappingList},
		eidVerb("show", "show the mapping of one EID", mappingShow),
		eidVerb("rm", "delete the mapping of an EID", func(ctx context.Context, x *session, iid int64, eid string) error {
			return act(ctx, x, func(ctx context.Context) error { return x.c.DeleteMapping(ctx, iid, eid) },
				"deleted mapping [%d]%s", iid, eid)
		}),
		eidVerb("history", "show where an EID was learned, registered, moved and withdrawn",
			func(ctx context.Context, x *session, iid int64, eid string) error {
				return show(ctx, x, func(ctx context.Context) ([]client.Event, error) { return x.c.MappingHistory(ctx, iid, eid) },
					func(w io.Writer, evs []client.Event) {
						row(w, "ID", "TIME", "TYPE", "SITE", "XTR", "RLOCS", "BY")
						for _, ev := range evs {
							var m client.Mapping
							_ = json.Unmarshal(ev.Data, &m) // best effort: the RLOCs are a detail
							row(w, ev.ID, fmtTime(ev.Time), ev.Type, ev.Site, ev.XTR, fmtRLOCs(m.RLOCs), ev.Actor)
						}
					})
			}),
		{name: "import", args: "FILE", min: 1, max: 1, help: "create mappings from a CSV or JSON file ('-': stdin) and summarize what was refused",
			setup: mappingImport},
	}
}

func mappingAdd(fs *flag.FlagSet) runner {
	var iid, ttl optInt
	var site string
	var rlocs rlocFlag
	fs.Var(&iid, "iid", "instance-id (required)")
	fs.StringVar(&site, "site", "", "the site that holds the EID (required)")
	fs.Var(&rlocs, "rloc", "an RLOC as ADDR[/PRIORITY[/WEIGHT]]; repeat or separate with ';' (default: the site's xTRs)")
	fs.Var(&ttl, "ttl", "TTL in minutes (default 1440)")
	return func(ctx context.Context, x *session, a []string) error {
		if iid.v == nil || site == "" {
			return usagef("--iid and --site are required")
		}
		in := client.MappingInput{InstanceID: *iid.v, EID: a[0], Site: site, TTL: ttl.v}
		for _, s := range rlocs {
			ls, err := parseRLOCs(s)
			if err != nil {
				return usagef("--rloc: %v", err)
			}
			in.RLOCs = append(in.RLOCs, ls...)
		}
		return show(ctx, x, func(ctx context.Context) (client.Mapping, error) {
			m, _, err := x.c.CreateMapping(ctx, in)
			return m, err
		}, mappingDetail)
	}
}

// rlocFlag collects repeated --rloc values.
type rlocFlag []string

func (r *rlocFlag) String() string     { return strings.Join(*r, ";") }
func (r *rlocFlag) Set(s string) error { *r = append(*r, s); return nil }

// parseRLOCs reads "addr/prio/weight;addr/prio/weight"; priority and
// weight may be left out for the defaults.
func parseRLOCs(s string) ([]client.LocatorInput, error) {
	var out []client.LocatorInput
	for _, item := range strings.Split(s, ";") {
		if item = strings.TrimSpace(item); item == "" {
			continue
		}
		parts := strings.Split(item, "/")
		if len(parts) > 3 {
			return nil, fmt.Errorf("%q: want address/priority/weight", item)
		}
		l := client.LocatorInput{Address: parts[0]}
		for i, dst := range []**int64{&l.Priority, &l.Weight} {
			if len(parts) > i+1 {
				n, err := strconv.ParseInt(parts[i+1], 10, 64)
				if err != nil {
					return nil, fmt.Errorf("%q: %s is not an integer", item, []string{"priority", "weight"}[i])
				}
				*dst = &n
			}
		}
		out = append(out, l)
	}
	return out, nil
}

func mappingList(fs *flag.FlagSet) runner {
	var f client.MappingFilter
	var iid optInt
	fs.Var(&iid, "iid", "only this instance-id")
	fs.StringVar(&f.Site, "site", "", "only this site's mappings")
	fs.StringVar(&f.Origin, "origin", "", "only static, registered or learned mappings")
	fs.StringVar(&f.Text, "match", "", "only EIDs containing this text")
	fs.IntVar(&f.Limit, "limit", 100, "page size, 1-1000")
	fs.IntVar(&f.Offset, "offset", 0, "how many mappings to skip")
	return func(ctx context.Context, x *session, _ []string) error {
		f.InstanceID = iid.v
		return show(ctx, x, func(ctx context.Context) (client.MappingPage, error) { return x.c.Mappings(ctx, f) },
			func(w io.Writer, p client.MappingPage) {
				mappingTable(w, p.Items)
				if end := p.Offset + int64(len(p.Items)); end < p.Total || p.Offset > 0 {
					fmt.Fprintf(w, "(mappings %d-%d of %d; --offset %d for more)\n", p.Offset+1, end, p.Total, end)
				}
			})
	}
}

func mappingTable(w io.Writer, ms []client.Mapping) {
	row(w, "IID", "EID", "SITE", "ORIGIN", "RLOCS", "TTL", "VERSION", "UPDATED")
	for _, m := range ms {
		row(w, m.InstanceID, m.EID, m.Site, m.Origin, fmtRLOCs(m.RLOCs), m.TTL, m.Version, fmtTime(m.UpdatedAt))
	}
}

// fmtRLOCs writes locators the way import and --rloc read them.
func fmtRLOCs(ls []client.Locator) string {
	s := make([]string, len(ls))
	for i, l := range ls {
		s[i] = fmt.Sprintf("%s/%d/%d", l.Address, l.Priority, l.Weight)
		if !l.Up {
			s[i] += "(down)"
		}
	}
	return strings.Join(s, ";")
}

func mappingDetail(w io.Writer, m client.Mapping) {
	row(w, "eid:", fmt.Sprintf("[%d]%s (%s)", m.InstanceID, m.EID, m.Family))
	row(w, "site:", m.Site)
	row(w, "origin:", strings.TrimSpace(m.Origin+" "+m.XTR+" "+m.Port))
	row(w, "rlocs:", orText(fmtRLOCs(m.RLOCs), "(none)"))
	row(w, "ttl:", fmt.Sprintf("%d min", m.TTL))
	row(w, "version:", m.Version)
	row(w, "updated:", fmtTime(m.UpdatedAt))
}

// mappingShow finds one EID's mapping: the API lists by substring, so the
// EID is normalized first and matched exactly.
func mappingShow(ctx context.Context, x *session, iid int64, eid string) error {
	if iid >= 0 && iid <= mapping.MaxIID {
		if e, err := mapping.ParseEID(uint32(iid), eid); err == nil {
			eid = e.Address()
		}
	}
	var raw json.RawMessage
	page, err := x.c.Mappings(client.WithRawBody(ctx, &raw), client.MappingFilter{InstanceID: &iid, Text: eid, Limit: 1000})
	if err != nil {
		return err
	}
	for i, m := range page.Items {
		if m.EID != eid {
			continue
		}
		if x.json {
			var items struct{ Items []json.RawMessage }
			if err := json.Unmarshal(raw, &items); err != nil {
				return fmt.Errorf("decode mappings: %w", err)
			}
			return x.writeJSON(items.Items[i]) // same page, same order

		}
		return show(ctx, x, func(context.Context) (client.Mapping, error) { return m, nil }, mappingDetail)
	}
	return &client.APIError{Status: 404, Code: "not_found", Field: "eid",
		Message: fmt.Sprintf("no mapping of %s in instance-id %d", eid, iid)}
}

func lookupVerbs() []verb {
	return []verb{eidVerb("", "resolve an EID as the Map-Resolver would", func(ctx context.Context, x *session, iid int64, eid string) error {
		return show(ctx, x, func(ctx context.Context) (client.LookupResult, error) { return x.c.Lookup(ctx, iid, eid) },
			func(w io.Writer, r client.LookupResult) {
				if !r.Negative {
					mappingDetail(w, r.Mapping)
					return
				}
				row(w, "negative:", "no mapping")
				row(w, "eid prefix:", r.EIDPrefix)
				row(w, "action:", r.Action)
				row(w, "ttl:", fmt.Sprintf("%d min", r.TTL))
			})
	})}
}

// errCaughtUp ends a listing of events once it reaches the newest.
var errCaughtUp = errors.New("caught up")

// recentEvents is how many events a plain "events" lists.
const recentEvents = 20

func eventsVerbs() []verb {
	return []verb{{name: "", help: "list recent changes, or follow them as they happen", setup: func(fs *flag.FlagSet) runner {
		var follow bool
		var since int64
		fs.BoolVar(&follow, "follow", false, "keep following new events (Ctrl-C to stop); reconnects without losing any")
		fs.Int64Var(&since, "since", -1, fmt.Sprintf("events after this id (default: the last %d, or only new ones with --follow)", recentEvents))
		return func(ctx context.Context, x *session, _ []string) error {
			var last int64
			if !follow {
				h, err := x.c.Health(ctx)
				if err != nil {
					return err
				}
				if last = h.LastEventID; since < 0 {
					since = max(0, last-recentEvents)
				}
				if since >= last {
					return nil
				}
			}
			err := x.c.Events(ctx, since, func(ev client.Event) error {
				if err := x.printEvent(ev); err != nil {
					return err
				}
				if !follow && ev.ID >= last {
					return errCaughtUp
				}
				return nil
			})
			if errors.Is(err, errCaughtUp) {
				return nil
			}
			return err
		}
	}}}
}

// printEvent writes one event a line: raw JSON with -o json (NDJSON).
func (x *session) printEvent(ev client.Event) error {
	if x.json {
		_, err := fmt.Fprintf(x.stdout, "%s\n", ev.Raw)
		return err
	}
	var what []string
	if ev.InstanceID != nil {
		what = append(what, fmt.Sprintf("iid=%d", *ev.InstanceID))
	}
	for _, kv := range [][2]string{{"eid", ev.EID}, {"site", ev.Site}, {"xtr", ev.XTR}} {
		if kv[1] != "" {
			what = append(what, kv[0]+"="+kv[1])
		}
	}
	if ev.Actor != "" {
		what = append(what, "by="+ev.Actor)
	}
	_, err := fmt.Fprintf(x.stdout, "%-6d %s  %-20s %s\n", ev.ID, fmtTime(ev.Time), ev.Type, strings.Join(what, " "))
	return err
}
