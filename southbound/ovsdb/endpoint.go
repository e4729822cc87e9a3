package ovsdb

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
)

// ErrBadEndpoint reports an OVSDB endpoint this package cannot dial.
var ErrBadEndpoint = errors.New("bad OVSDB endpoint")

// Endpoint is a parsed active OVSDB connection method (ovsdb(7)).
type Endpoint struct {
	Scheme  string // "unix", "tcp" or "ssl"
	Address string // socket path, or host:port
}

func (e Endpoint) String() string { return e.Scheme + ":" + e.Address }

// ParseEndpoint parses "unix:PATH", "tcp:HOST:PORT" or "ssl:HOST:PORT"
// (IPv6 hosts in brackets). Passive methods (punix:, ptcp:, pssl:) are
// refused because the controller always connects to the switch.
func ParseEndpoint(s string) (Endpoint, error) {
	scheme, addr, ok := strings.Cut(s, ":")
	if !ok {
		return Endpoint{}, fmt.Errorf("%w %q: want unix:PATH, tcp:HOST:PORT or ssl:HOST:PORT", ErrBadEndpoint, s)
	}
	switch scheme {
	case "unix":
		if addr == "" {
			return Endpoint{}, fmt.Errorf("%w %q: empty socket path", ErrBadEndpoint, s)
		}
	case "tcp", "ssl":
		if err := checkHostPort(addr); err != nil {
			return Endpoint{}, fmt.Errorf("%w %q: %w", ErrBadEndpoint, s, err)
		}
	case "punix", "ptcp", "pssl":
		return Endpoint{}, fmt.Errorf("%w %q: passive method %s: is not supported, the controller connects to the switch",
			ErrBadEndpoint, s, scheme)
	default:
		return Endpoint{}, fmt.Errorf("%w %q: unknown method %q, want unix, tcp or ssl", ErrBadEndpoint, s, scheme)
	}
	return Endpoint{Scheme: scheme, Address: addr}, nil
}

func checkHostPort(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("want HOST:PORT: %w", err)
	}
	if host == "" {
		return errors.New("empty host")
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("port %q is not a number in 1..65535", port)
	}
	return nil
}
