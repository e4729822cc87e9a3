package lab

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Down removes everything a lab in cfg.RunDir made: OVS daemons (by pid
// file, then any left whose command line names the run dir), every
// namespace and root-namespace link whose name starts with Prefix, and the
// run dir. It works from the naming scheme, not the topology file, so it
// also cleans after a killed run, and it is harmless when nothing is there.
func Down(ctx context.Context, cfg Config) error {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return fmt.Errorf("lab config: %w", err)
	}
	var errs []error
	dirs, _ := filepath.Glob(filepath.Join(cfg.RunDir, "dc*"))
	for _, dir := range dirs {
		(&OVS{Dir: dir}).Stop()
	}
	for _, pid := range strayOVS(cfg.RunDir) {
		killWait(pid)
	}
	// Delete root links before their namespaces: namespace teardown is
	// asynchronous, and a veth end still present would block the next Up.
	links, err := linkList(ctx, "", Prefix)
	errs = append(errs, err)
	for _, l := range links {
		if err := ip(ctx, "", "link", "del", l); err != nil && linkExists(ctx, "", l) {
			errs = append(errs, err)
		}
	}
	nss, err := netnsList(ctx, Prefix+"-")
	errs = append(errs, err)
	for _, ns := range nss {
		killNetnsPids(ctx, ns)
		if err := ip(ctx, "", "netns", "del", ns); err != nil && netnsExists(ns) {
			errs = append(errs, err)
		}
	}
	if err := os.RemoveAll(cfg.RunDir); err != nil {
		errs = append(errs, fmt.Errorf("remove run dir: %w", err))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("lab down: %w", err)
	}
	return nil
}

// killNetnsPids ends processes left inside one of our namespaces (a ping
// from a killed test, say); deleting the namespace alone would keep them.
func killNetnsPids(ctx context.Context, ns string) {
	out, err := run(ctx, "ip", "netns", "pids", ns)
	if err != nil {
		return
	}
	for _, f := range strings.Fields(out) {
		if pid, err := strconv.Atoi(f); err == nil && pid > 1 && pid != os.Getpid() {
			killWait(pid)
		}
	}
}

// killWait sends SIGTERM, then SIGKILL if the process outlives a grace period.
func killWait(pid int) {
	_ = syscall.Kill(pid, syscall.SIGTERM)
	for i := 0; i < 40; i++ {
		if processGone(pid) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	_ = syscall.Kill(pid, syscall.SIGKILL)
}

// Check is one line of a status report.
type Check struct {
	What   string `json:"what"` // e.g. "netns l2lab-dc1", "ovs-vswitchd dc1"
	Up     bool   `json:"up"`
	Detail string `json:"detail,omitempty"`
}

// Report is what Status found.
type Report struct {
	Topology *Topology `json:"topology"`
	Checks   []Check   `json:"checks"`
}

// AllUp reports whether every check passed.
func (r *Report) AllUp() bool {
	for _, c := range r.Checks {
		if !c.Up {
			return false
		}
	}
	return len(r.Checks) > 0
}

// Status reads the topology of the lab in cfg.RunDir and checks that each
// namespace, link and OVS daemon it lists is there.
func Status(ctx context.Context, cfg Config) (*Report, error) {
	cfg = cfg.withDefaults()
	t, err := Load(cfg.RunDir)
	if err != nil {
		return nil, err
	}
	r := &Report{Topology: t}
	add := func(what string, up bool, detail string) {
		r.Checks = append(r.Checks, Check{What: what, Up: up, Detail: detail})
	}
	add("bridge "+MgmtBridge, linkExists(ctx, "", MgmtBridge), "")
	add("netns "+t.WANNetns, netnsExists(t.WANNetns), "")
	for _, d := range t.DCs {
		add("netns "+d.Netns, netnsExists(d.Netns), "")
		add("link "+d.MgmtLink, linkExists(ctx, "", d.MgmtLink), d.MgmtAddr.String())
		for _, daemon := range []string{"ovsdb-server", "ovs-vswitchd"} {
			pid, ok := pidAlive(filepath.Join(d.OVS.Dir, daemon+".pid"))
			add(daemon+" "+d.Name, ok, "pid "+strconv.Itoa(pid))
		}
		ok := netnsExists(d.Netns) && linkExists(ctx, d.Netns, phyBridge)
		add(phyBridge+" "+d.Name, ok, d.RLOC.String())
	}
	lanChecks(ctx, t, add)
	for _, h := range t.Hosts {
		add("netns "+h.Netns, netnsExists(h.Netns), "")
		if h.LAN != "" {
			add("port "+h.Port, linkExists(ctx, h.LAN, h.Port), "in "+h.LAN)
			continue
		}
		where := findPort(ctx, t, h.Port)
		add("port "+h.Port, where != nil, portDetail(where))
	}
	return r, nil
}

func portDetail(d *DC) string {
	if d == nil {
		return "in no DC"
	}
	return "in " + d.Name
}

// findPort returns the DC whose namespace holds link port, or nil.
func findPort(ctx context.Context, t *Topology, port string) *DC {
	for i := range t.DCs {
		if netnsExists(t.DCs[i].Netns) && linkExists(ctx, t.DCs[i].Netns, port) {
			return &t.DCs[i]
		}
	}
	return nil
}
