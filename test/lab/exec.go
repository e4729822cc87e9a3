package lab

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Exec runs a command inside the host's namespace and returns its
// combined output.
func (h Host) Exec(ctx context.Context, args ...string) ([]byte, error) {
	if len(args) == 0 {
		return nil, errors.New("exec: no command")
	}
	cmd := exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", h.Netns}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return out, fmt.Errorf("%s: %s: %w", h.Name, strings.Join(args, " "), err)
	}
	return out, nil
}

// Exec runs a command inside the DC's namespace (not an OVS tool; use OVS for those).
func (d DC) Exec(ctx context.Context, args ...string) ([]byte, error) {
	return Host{Name: d.Name, Netns: d.Netns}.Exec(ctx, args...)
}

var pingSummary = regexp.MustCompile(`(\d+) packets transmitted, (\d+) (?:packets )?received`)

// Ping sends count echo requests from the host to toAddr, one per interval,
// and reports how many went out and how many answers came back. Lost
// answers are not an error; failing to run ping or read its summary is.
func Ping(ctx context.Context, from Host, toAddr netip.Addr, count int, interval time.Duration) (sent, received int, err error) {
	if count < 1 {
		count = 1
	}
	args := []string{"ping", "-n", "-c", strconv.Itoa(count), "-W", "1"}
	if interval > 0 {
		args = append(args, "-i", strconv.FormatFloat(interval.Seconds(), 'f', 3, 64))
	}
	if toAddr.Is6() && !toAddr.Is4In6() {
		args = append(args, "-6")
	} else {
		args = append(args, "-4")
	}
	out, runErr := from.Exec(ctx, append(args, toAddr.String())...)
	return parsePing(out, runErr)
}

// parsePing reads ping's summary; ping exits 1 when nothing came back,
// which is a result, not a failure.
func parsePing(out []byte, runErr error) (sent, received int, err error) {
	m := pingSummary.FindSubmatch(out)
	if m == nil {
		if runErr == nil {
			runErr = errors.New("no summary")
		}
		return 0, 0, fmt.Errorf("ping: %w: %s", runErr, strings.TrimSpace(string(out)))
	}
	sent, _ = strconv.Atoi(string(m[1]))
	received, _ = strconv.Atoi(string(m[2]))
	return sent, received, nil
}

// MoveHost moves the DC end of the host's veth (its access port, same
// name) into DC to's namespace, so the host keeps MAC, addresses and
// neighbour entries, as a migrated VM would. Binding the port on the new
// xTR (and unbinding it on the old one) is left to the caller, through
// the controller. h.DC is updated; topology.json is not rewritten.
func MoveHost(ctx context.Context, h *Host, to DC) error {
	from := dcNetns(h.DC)
	if h.DC == to.Index {
		return nil
	}
	if !linkExists(ctx, from, h.Port) {
		return fmt.Errorf("move %s: port %s not in %s", h.Name, h.Port, from)
	}
	if err := ip(ctx, from, "link", "set", "dev", h.Port, "netns", to.Netns); err != nil {
		return fmt.Errorf("move %s: %w", h.Name, err)
	}
	// A device changing namespace comes up down and with per-device
	// sysctls reset; the offload setting travels with it but costs nothing to redo.
	if err := ip(ctx, to.Netns, "link", "set", h.Port, "up"); err != nil {
		return fmt.Errorf("move %s: %w", h.Name, err)
	}
	if err := txOff(ctx, to.Netns, h.Port); err != nil {
		return fmt.Errorf("move %s: %w", h.Name, err)
	}
	h.DC = to.Index
	return nil
}
