// Package scale is the harness behind `l2lisp bench scale`. It runs the
// real controller (an l2lisp serve child process, real TCP, TLS as
// deployed unless told otherwise) against N simulated OpenFlow 1.3
// switches (test/sim, all in this process, one site and xTR each) with M
// MAC EIDs spread over the sites, in either forwarding mode, and
// measures: the time `l2lisp mapping import` takes for the M rows, the
// time from a controller start to every switch in sync (cold start, the
// database holding everything), the controller's memory, the flows per
// switch, and the time from a mapping change (POST /mappings moving a
// host) to its flow-mods at every switch it concerns.
package scale

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// Config is what to run.
type Config struct {
	Binary   string // the l2lisp binary to run (serve, mapping import)
	Dir      string // work directory; empty: a temporary one, removed after
	Switches int
	EIDs     int
	Mode     string // push or on-demand
	TLS      bool   // TLS on every channel as deployed; false: --insecure-plaintext
	Changes  int    // mapping changes timed
	Holders  int    // on demand: switches made to hold each changed host first
	// ServeArgs are extra flags for l2lisp serve.
	ServeArgs []string
	// Register, when set, loads the Map-Server with new EIDs (signed
	// Map-Registers) for the given time once the rest is measured; the
	// bench command passes its load generator.
	Register func(ctx context.Context, target, key string, iid uint32) (string, error)
	// Hold keeps the setup running this long before tearing it down, to
	// look at the controller (its --pprof-listen, say).
	Hold time.Duration
	// Reuse takes the database (and PKI) an earlier run left in Dir
	// instead of creating the sites and importing the EIDs again.
	Reuse bool
	Log   io.Writer
}

// Register's network and site: their own instance-id, served by no
// switch, so the registrations measure the Map-Server and the database.
const (
	RegisterIID = 4200
	RegisterKey = "scale-register-key"
)

// Report is what the harness measured.
type Report struct {
	Switches, EIDs int
	Mode           string
	TLS            bool
	Import         time.Duration // l2lisp mapping import of EIDs rows
	FirstSync      time.Duration // switches connecting to a running controller → all in sync
	ColdStart      time.Duration // controller start (database full) → all in sync
	APIUp          time.Duration // controller start → REST API answers (the database loaded)
	// CPU time of the cold start, of the controller and of this process
	// (the simulated switches): both share the machine's cores.
	ColdCPU, SimCPU time.Duration
	RSS, PeakRSS    uint64 // controller, after the cold start and changes
	HeapInuse       uint64
	Flows           []int // per switch, sorted
	Changes         []time.Duration
	Interested      int // switches each change concerns
	Registers       string
}

// Run builds the setup, measures, and tears everything down.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if cfg.Log == nil {
		cfg.Log = io.Discard
	}
	dir := cfg.Dir
	if dir == "" {
		d, err := os.MkdirTemp("", "l2lisp-scale-")
		if err != nil {
			return nil, fmt.Errorf("work directory: %w", err)
		}
		defer os.RemoveAll(d)
		dir = d
	}
	h := &harness{cfg: cfg, rep: &Report{Switches: cfg.Switches, EIDs: cfg.EIDs, Mode: cfg.Mode, TLS: cfg.TLS}}
	c, err := newCtl(&h.cfg, dir)
	if err != nil {
		return nil, err
	}
	h.ctl = c
	defer c.stop(true)
	if err := h.run(ctx, dir); err != nil {
		return h.rep, err
	}
	return h.rep, nil
}

// harness is one run's state.
type harness struct {
	cfg   Config
	rep   *Report
	ctl   *ctl
	fleet *fleet
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func (h *harness) logf(format string, a ...any) {
	fmt.Fprintf(h.cfg.Log, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, a...)...)
}

func (h *harness) run(ctx context.Context, dir string) error {
	reuse := h.cfg.Reuse && fileExists(filepath.Join(dir, "l2lisp.db"))
	if err := h.ctl.start(ctx); err != nil {
		return err
	}
	if reuse {
		h.logf("controller up at %s (TLS %v) on the database of an earlier run", h.ctl.api, h.cfg.TLS)
		if err := h.reuse(ctx); err != nil {
			return err
		}
	} else {
		h.logf("controller up at %s (TLS %v); creating %d sites with one xTR each", h.ctl.api, h.cfg.TLS, h.cfg.Switches)
		if err := h.topology(ctx); err != nil {
			return err
		}
		if err := h.importEIDs(ctx, dir); err != nil {
			return err
		}
	}
	sctx, stopSims := context.WithCancel(ctx)
	defer func() { stopSims(); h.fleet.wg.Wait() }()
	start := time.Now()
	h.fleet.run(sctx)
	if err := h.waitInSync(ctx, 30*time.Minute); err != nil {
		return err
	}
	h.rep.FirstSync = time.Since(start)
	h.logf("all %d switches in sync after %v", h.cfg.Switches, h.rep.FirstSync.Round(time.Millisecond))
	if err := h.coldStart(ctx); err != nil {
		return err
	}
	h.rep.Flows = h.fleet.flowCounts()
	if err := h.changes(ctx); err != nil {
		return err
	}
	h.rep.RSS, h.rep.PeakRSS, h.rep.HeapInuse = h.ctl.memory(ctx)
	if h.cfg.Register != nil {
		h.logf("new-EID Map-Registers against %s", h.ctl.lisp)
		out, err := h.cfg.Register(ctx, h.ctl.lisp, RegisterKey, RegisterIID)
		if err != nil {
			return fmt.Errorf("map-register load: %w", err)
		}
		h.rep.Registers = out
		h.logf("%s", out)
	}
	if h.cfg.Hold > 0 {
		h.logf("holding for %v (controller at %s)", h.cfg.Hold, h.ctl.api)
		select {
		case <-ctx.Done():
		case <-time.After(h.cfg.Hold):
		}
	}
	return nil
}

// coldStart stops the controller and starts it again on the same
// database: the time until every switch is in sync again.
func (h *harness) coldStart(ctx context.Context) error {
	h.logf("restarting the controller (SIGTERM, then start on the same database)")
	h.ctl.stop(false)
	start, sim0 := time.Now(), selfCPU()
	if err := h.ctl.start(ctx); err != nil {
		return err
	}
	h.rep.APIUp = time.Since(start)
	h.logf("REST API up after %v", h.rep.APIUp.Round(time.Millisecond))
	if err := h.waitInSync(ctx, 30*time.Minute); err != nil {
		return err
	}
	h.rep.ColdStart = time.Since(start)
	h.rep.ColdCPU, h.rep.SimCPU = h.ctl.cpu(), selfCPU()-sim0
	h.logf("cold start: all switches in sync after %v", h.rep.ColdStart.Round(time.Millisecond))
	return nil
}

// waitInSync polls the xTRs until every one is connected and in sync.
func (h *harness) waitInSync(ctx context.Context, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		xs, err := h.ctl.client.XTRs(ctx)
		if err == nil {
			n := 0
			for _, x := range xs {
				if x.Status.OpenFlow.Connected && x.Status.InSync {
					n++
				}
			}
			if n == len(xs) && n == h.cfg.Switches {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("switches not in sync after %v", limit)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
			// Each poll lists every xTR with its status: at a thousand,
			// polling faster costs the controller measurably.
		}
	}
}
