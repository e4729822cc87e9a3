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
  lab        build or remove the local multi-datacenter lab: lab up|down|status
  version    print the version

Run 'l2lisp COMMAND -h' for a command's flags.
`

var version = "dev"

type command func(ctx context.Context, args []string) error

func commands() map[string]command {
	return map[string]command{
		"serve": cmdServe,
		"lab":   cmdLab,
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
