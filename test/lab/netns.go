package lab

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// run executes a command and returns its trimmed output; a failure carries
// the command line and what it printed, which is what one needs to debug.
func run(ctx context.Context, name string, args ...string) (string, error) {
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err,
			bytes.TrimSpace(out))
	}
	return strings.TrimSpace(string(out)), nil
}

// ip runs ip(8) in the root namespace, or in ns when it is not empty.
func ip(ctx context.Context, ns string, args ...string) error {
	if ns != "" {
		args = append([]string{"-n", ns}, args...)
	}
	_, err := run(ctx, "ip", args...)
	return err
}

// nsExec runs a command inside namespace ns.
func nsExec(ctx context.Context, ns string, args ...string) (string, error) {
	return run(ctx, "ip", append([]string{"netns", "exec", ns}, args...)...)
}

// sysctl sets kernel parameters inside namespace ns.
func sysctl(ctx context.Context, ns string, kv ...string) error {
	_, err := nsExec(ctx, ns, append([]string{"sysctl", "-q", "-w"}, kv...)...)
	return err
}

// txOff turns tx checksum offload off: the userspace datapath forwards
// frames whose checksum the kernel left for hardware, and TCP then breaks.
func txOff(ctx context.Context, ns, dev string) error {
	_, err := nsExec(ctx, ns, "ethtool", "-K", dev, "tx", "off")
	return err
}

// addNetns creates a namespace with loopback up.
func addNetns(ctx context.Context, ns string) error {
	if err := ip(ctx, "", "netns", "add", ns); err != nil {
		return err
	}
	return ip(ctx, ns, "link", "set", "lo", "up")
}

// netnsList returns the named namespaces that start with prefix.
func netnsList(ctx context.Context, prefix string) ([]string, error) {
	out, err := run(ctx, "ip", "netns", "list")
	if err != nil {
		return nil, err
	}
	var names []string
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) > 0 && strings.HasPrefix(f[0], prefix) {
			names = append(names, f[0])
		}
	}
	return names, nil
}

// netnsExists reports whether the named namespace is mounted.
func netnsExists(ns string) bool {
	_, err := os.Stat(filepath.Join("/run/netns", ns))
	return err == nil
}

// linkList returns the links in namespace ns ("" root) whose names start with prefix.
func linkList(ctx context.Context, ns, prefix string) ([]string, error) {
	args := []string{"-o", "link", "show"}
	if ns != "" {
		args = append([]string{"-n", ns}, args...)
	}
	out, err := run(ctx, "ip", args...)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, line := range strings.Split(out, "\n") {
		// "7: l2lab-m1@if6: <BROADCAST,..." — the name sits between the first ": " and "@" or ":".
		f := strings.SplitN(line, ": ", 3)
		if len(f) < 2 {
			continue
		}
		name, _, _ := strings.Cut(f[1], "@")
		if strings.HasPrefix(name, prefix) {
			names = append(names, name)
		}
	}
	return names, nil
}

// linkExists reports whether dev exists in namespace ns.
func linkExists(ctx context.Context, ns, dev string) bool {
	return ip(ctx, ns, "link", "show", "dev", dev) == nil
}

// pidAlive reads a pid file and reports whether that process still runs.
func pidAlive(path string) (int, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 1 {
		return 0, false
	}
	return pid, !processGone(pid)
}

// strayOVS finds OVS daemons whose command line names a file under dir:
// ours, left behind when their pid files were removed by a killed run.
func strayOVS(dir string) []int {
	return strays(dir, func(argv []string) bool {
		base := filepath.Base(argv[0])
		return base == "ovsdb-server" || base == "ovs-vswitchd"
	})
}

// strays finds processes that match and whose command line names a file
// under dir; never this process.
func strays(dir string, match func(argv []string) bool) []int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || len(b) == 0 {
			continue
		}
		if match(strings.Split(string(b), "\x00")) && strings.Contains(string(b), dir+"/") {
			pids = append(pids, pid)
		}
	}
	return pids
}
