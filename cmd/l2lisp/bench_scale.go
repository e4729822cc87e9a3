package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/l2lisp/l2lisp/test/scale"
)

// cmdBenchScale runs the scale harness (package test/scale): the real
// controller against simulated switches, in one forwarding mode.
func cmdBenchScale(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("bench scale", flag.ContinueOnError)
	cfg := scale.Config{Log: os.Stderr}
	fs.IntVar(&cfg.Switches, "switches", 100, "simulated switches (one site and xTR each)")
	fs.IntVar(&cfg.EIDs, "eids", 100000, "MAC EIDs, spread evenly over the sites, loaded with l2lisp mapping import")
	fs.StringVar(&cfg.Mode, "mode", "on-demand", "forwarding mode of the network: push or on-demand")
	plain := fs.Bool("insecure-plaintext", false, "run the controller and switches without TLS (default: TLS on every channel, as deployed)")
	fs.IntVar(&cfg.Changes, "changes", 200, "mapping changes (host moves) to time")
	fs.IntVar(&cfg.Holders, "holders", 3, "on-demand: switches made to hold each moved host first (by a miss)")
	regFor := fs.Duration("register", 10*time.Second, "how long to load the Map-Server with new-EID Map-Registers at the end (0: skip)")
	fs.StringVar(&cfg.Dir, "dir", "", "work directory, kept (default: a temporary one, removed)")
	serveArgs := fs.String("serve-args", "", "extra flags for l2lisp serve, space-separated")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	fs.DurationVar(&cfg.Hold, "hold", 0, "keep everything running this long before tearing down (to profile the controller)")
	fs.BoolVar(&cfg.Reuse, "reuse", false, "with --dir: take the database an earlier run left there instead of creating the sites and importing again")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if cfg.Switches < 3 || cfg.EIDs < cfg.Switches || (cfg.Mode != "push" && cfg.Mode != "on-demand") {
		return fmt.Errorf("want --switches >= 3, --eids >= --switches and --mode push or on-demand")
	}
	cfg.TLS, cfg.ServeArgs = !*plain, strings.Fields(*serveArgs)
	bin, err := os.Executable()
	if err != nil {
		return fmt.Errorf("own binary: %w", err)
	}
	cfg.Binary = bin
	if *regFor > 0 {
		cfg.Register = func(ctx context.Context, target, key string, iid uint32) (string, error) {
			c := benchConfig{kind: "map-register", target: target, iid: uint(iid), eids: 10_000_000, base: "10.0.0.0",
				duration: *regFor, concurrency: 16, window: 256, key: key, alg: "sha256", rloc: "192.0.2.1", sequential: true}
			res, err := runBench(ctx, c)
			if err != nil {
				return "", err
			}
			var b strings.Builder
			res.print(&b, c)
			return b.String(), nil
		}
	}
	rep, err := scale.Run(ctx, cfg)
	if rep != nil {
		if *asJSON {
			b, _ := json.MarshalIndent(rep, "", "  ")
			fmt.Println(string(b))
		} else {
			rep.Print(os.Stdout)
		}
	}
	return err
}
