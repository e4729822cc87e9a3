// Command l2lisp is the l2lisp controller (serve), its lab builder (lab),
// and the operators' and LISP clients.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

const usage = `usage: l2lisp COMMAND [flags]

commands:
  serve      run the controller (REST API, dashboard, OpenFlow, OVSDB, LISP Map-Server/Resolver)
  pki        create the CA and certificates for TLS: pki init|issue
  lab        build or remove the local multi-datacenter lab: lab up|down|status
  lig        send a LISP Map-Request and print the answer: lig [--mr ADDR] [--iid N] EID
  register   send a signed LISP Map-Register: register --ms ADDR --key KEY --eid EID --rloc ADDR ...
  bench      load a Map-Resolver or Map-Server, counting only correct answers: bench map-request|map-register [flags]
  network    tenant networks: network add|list|show|rm
  site       sites (datacenters): site add|list|show|set|rm
  xtr        edge switches: xtr add|list|show|rm
  port       access ports: port add|list|rm
  mapping    EID-to-RLOC mappings: mapping add|list|show|rm|history|import
  lookup     resolve an EID as the Map-Resolver would: lookup --iid N EID
  events     list or follow the change feed: events [--follow] [--since N]
  token      API tokens (needs an admin token): token create|list|rm
  subscription  LISP routers subscribed to EID-prefixes (RFC 9437): subscription list
  cluster    list the controller replicas and which one leads
  version    print the version

Run 'l2lisp COMMAND -h' for a command's flags. The operator commands
(network ... cluster) find the controller, token and CA certificate in
--server/--token/--ca, else $L2LISP_SERVER/$L2LISP_TOKEN/$L2LISP_CA, else
~/.config/l2lisp/config.json (or $L2LISP_CONFIG):
{"server":"https://host:8080","token":"...","ca":"/path/to/ca.pem"}.
`

var version = "dev"

type command func(ctx context.Context, args []string) error

func commands() map[string]command {
	return map[string]command{
		"serve":        cmdServe,
		"lab":          cmdLab,
		"pki":          cmdPKI,
		"lig":          cmdLig,
		"register":     cmdRegister,
		"bench":        cmdBench,
		"network":      cliCommand("network"),
		"site":         cliCommand("site"),
		"xtr":          cliCommand("xtr"),
		"port":         cliCommand("port"),
		"mapping":      cliCommand("mapping"),
		"lookup":       cliCommand("lookup"),
		"events":       cliCommand("events"),
		"token":        cliCommand("token"),
		"subscription": cliCommand("subscription"),
		"cluster":      cliCommand("cluster"),
		"version": func(context.Context, []string) error {
			fmt.Println("l2lisp", version)
			return nil
		},
	}
}

func main() {
	if len(os.Args) < 2 || os.Args[1] == "-h" || os.Args[1] == "--help" || os.Args[1] == "help" {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	cmd, ok := commands()[os.Args[1]]
	if !ok {
		fmt.Fprintf(os.Stderr, "l2lisp: unknown command %q\n\n%s", os.Args[1], usage)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := cmd(ctx, os.Args[2:]); err != nil {
		fmt.Fprintf(os.Stderr, "l2lisp %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

// envOr returns the environment variable's value, or def.
func envOr(name, def string) string {
	if v, ok := os.LookupEnv(name); ok {
		return v
	}
	return def
}
