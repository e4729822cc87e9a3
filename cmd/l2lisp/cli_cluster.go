package main

import (
	"context"
	"fmt"
	"io"

	"github.com/l2lisp/l2lisp/northbound/client"
)

func clusterVerbs() []verb {
	return []verb{{name: "", help: "list the controller replicas sharing the database and which one leads",
		setup: noFlags(func(ctx context.Context, x *session, _ []string) error {
			return show(ctx, x, x.c.Cluster, func(w io.Writer, v client.Cluster) {
				row(w, "REPLICA", "ADDRESS", "ROLE", "HEARTBEAT", "APPLIED")
				for _, r := range v.Replicas {
					id := r.ID
					if r.Self {
						id += " *"
					}
					row(w, id, r.Address, r.Role, fmtTime(r.LastHeartbeat), r.AppliedEventID)
				}
				if v.Election {
					fmt.Fprintf(w, "(elected leader, lease %gs; * answered)\n", v.LeaseSeconds)
				}
			})
		})}}
}
