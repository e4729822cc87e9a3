package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/l2lisp/l2lisp/northbound/client"
)

// Verbs of API tokens (an admin token is needed for all of them).

func tokenVerbs() []verb {
	return []verb{
		{name: "create", args: "NAME", min: 1, max: 1, help: "create an API token and print its secret, shown only this once",
			setup: func(fs *flag.FlagSet) runner {
				role := fs.String("role", "viewer", "admin (everything), operator (networks, sites, xTRs, ports, mappings) or viewer (read only)")
				return func(ctx context.Context, x *session, a []string) error {
					return show(ctx, x, func(ctx context.Context) (client.CreatedToken, error) {
						return x.c.CreateToken(ctx, client.TokenInput{Name: a[0], Role: *role})
					}, func(w io.Writer, t client.CreatedToken) {
						fmt.Fprintf(w, "created token %s (role %s); its secret, shown only this once:\n%s\n", t.Name, t.Role, t.Secret)
					})
				}
			}},
		{name: "list", help: "list the API tokens (never their secrets)", setup: noFlags(func(ctx context.Context, x *session, _ []string) error {
			return show(ctx, x, x.c.Tokens, tokenTable)
		})},
		{name: "rm", args: "NAME", min: 1, max: 1, help: "revoke an API token: every replica refuses it from then on",
			setup: noFlags(func(ctx context.Context, x *session, a []string) error {
				return act(ctx, x, func(ctx context.Context) error { return x.c.RevokeToken(ctx, a[0]) }, "revoked token %s", a[0])
			})},
	}
}

func tokenTable(w io.Writer, ts []client.Token) {
	row(w, "NAME", "ROLE", "CREATED", "BY", "LAST USED")
	for _, t := range ts {
		used := "-"
		if t.LastUsedAt != nil {
			used = fmtTime(*t.LastUsedAt)
		}
		by := t.CreatedBy
		if t.Bootstrap {
			by = "(flag)"
		}
		row(w, t.Name, t.Role, fmtTime(t.CreatedAt), by, used)
	}
}
