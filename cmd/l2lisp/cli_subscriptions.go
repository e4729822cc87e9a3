package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/l2lisp/l2lisp/northbound/client"
)

// Verbs of the RFC 9437 publish/subscribe subscriptions.

func subscriptionVerbs() []verb {
	return []verb{{name: "list", help: "list the LISP routers subscribed to EID-prefixes, a page at a time", setup: subscriptionList}}
}

func subscriptionList(fs *flag.FlagSet) runner {
	var f client.SubscriptionFilter
	var iid optInt
	fs.Var(&iid, "iid", "only this instance-id")
	fs.StringVar(&f.Site, "site", "", "only subscribers of this site")
	fs.StringVar(&f.XTRID, "xtr-id", "", "only this subscriber (32 hex digits)")
	fs.IntVar(&f.Limit, "limit", 100, "page size, 1-1000")
	fs.IntVar(&f.Offset, "offset", 0, "how many subscriptions to skip")
	return func(ctx context.Context, x *session, _ []string) error {
		f.InstanceID = iid.v
		return show(ctx, x, func(ctx context.Context) (client.SubscriptionPage, error) { return x.c.Subscriptions(ctx, f) },
			func(w io.Writer, p client.SubscriptionPage) {
				row(w, "IID", "EID", "XTR-ID", "SITE", "NOTIFY", "TTL", "REFRESHED", "EXPIRES")
				for _, s := range p.Items {
					row(w, s.InstanceID, s.EID, s.XTRID, s.Site, fmtNotifyTo(s), s.TTL, fmtTime(s.RefreshedAt), fmtTime(s.ExpiresAt))
				}
				if end := p.Offset + int64(len(p.Items)); end < p.Total || p.Offset > 0 {
					fmt.Fprintf(w, "(subscriptions %d-%d of %d; --offset %d for more)\n", p.Offset+1, end, p.Total, end)
				}
			})
	}
}

// fmtNotifyTo is where a subscriber's Map-Notifies go: its ITR-RLOCs and port.
func fmtNotifyTo(s client.Subscription) string {
	out := make([]string, len(s.ITRRLOCs))
	for i, a := range s.ITRRLOCs {
		if strings.Contains(a, ":") {
			a = "[" + a + "]"
		}
		out[i] = fmt.Sprintf("%s:%d", a, s.Port)
	}
	return strings.Join(out, ",")
}
