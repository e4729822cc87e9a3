package frame

import (
	"testing"

	"github.com/l2lisp/l2lisp/frame/frametest"
	"github.com/l2lisp/l2lisp/mapping"
)

var (
	tMAC  = mapping.MAC{0x02, 0, 0, 0, 0, 0x01}
	tMAC2 = mapping.MAC{0x02, 0, 0, 0, 0, 0x02}
)

func TestParse(t *testing.T) {
	other := mapping.MAC{0x02, 0, 0, 0, 0, 0x99}
	tests := []struct {
		name   string
		data   []byte
		typ    uint16
		ip     string // "" = none
		owner  mapping.MAC
		errors bool
	}{
		{"short", []byte{1, 2, 3}, 0, "", mapping.MAC{}, true},
		{"plain IPv4", append(frametest.Eth(tMAC2, tMAC, 0x0800, false), make([]byte, 20)...), 0x0800, "", mapping.MAC{}, false},
		{"ARP request", frametest.ARP(1, tMAC, "198.51.100.1", "198.51.100.2", false), 0x0806, "198.51.100.1", tMAC, false},
		{"ARP reply", frametest.ARP(2, tMAC, "198.51.100.1", "198.51.100.2", false), 0x0806, "198.51.100.1", tMAC, false},
		{"gratuitous ARP", frametest.ARP(1, tMAC, "198.51.100.1", "198.51.100.1", false), 0x0806, "198.51.100.1", tMAC, false},
		{"ARP probe", frametest.ARP(1, tMAC, "0.0.0.0", "198.51.100.1", false), 0x0806, "", mapping.MAC{}, false},
		{"ARP, VLAN tag", frametest.ARP(1, tMAC, "198.51.100.1", "198.51.100.2", true), 0x0806, "198.51.100.1", tMAC, false},
		{"ARP truncated", frametest.ARP(1, tMAC, "198.51.100.1", "198.51.100.2", false)[:30], 0x0806, "", mapping.MAC{}, false},
		{"NS with SLL", frametest.ND(135, tMAC, "2001:db8::1", "2001:db8::2", &other), 0x86dd, "2001:db8::1", other, false},
		{"NS without SLL", frametest.ND(135, tMAC, "2001:db8::1", "2001:db8::2", nil), 0x86dd, "2001:db8::1", tMAC, false},
		{"NS for DAD", frametest.ND(135, tMAC, "::", "2001:db8::2", nil), 0x86dd, "", mapping.MAC{}, false},
		{"NS link-local", frametest.ND(135, tMAC, "fe80::1", "2001:db8::2", nil), 0x86dd, "", mapping.MAC{}, false},
		{"NA with TLL", frametest.ND(136, tMAC, "2001:db8::5", "2001:db8::2", &other), 0x86dd, "2001:db8::2", other, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Parse(tc.data)
			if (err != nil) != tc.errors {
				t.Fatalf("err = %v", err)
			}
			if err != nil {
				return
			}
			if f.EtherType != tc.typ || f.Src != tMAC {
				t.Errorf("type %#x src %s", f.EtherType, f.Src)
			}
			got := ""
			if f.Announced.IsValid() {
				got = f.Announced.String()
			}
			if got != tc.ip || (tc.ip != "" && f.Owner != tc.owner) {
				t.Errorf("announced %q owner %s, want %q %s", got, f.Owner, tc.ip, tc.owner)
			}
		})
	}
}

// TestSought: the address an ARP request or NS asks about, none for
// replies, advertisements and probes of the unspecified address.
func TestSought(t *testing.T) {
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"ARP request", frametest.ARP(1, tMAC, "198.51.100.1", "198.51.100.2", false), "198.51.100.2"},
		{"ARP probe", frametest.ARP(1, tMAC, "0.0.0.0", "198.51.100.2", true), "198.51.100.2"},
		{"ARP reply", frametest.ARP(2, tMAC, "198.51.100.1", "198.51.100.2", false), ""},
		{"ARP truncated", frametest.ARP(1, tMAC, "198.51.100.1", "198.51.100.2", false)[:30], ""},
		{"NS", frametest.ND(135, tMAC, "2001:db8::1", "2001:db8::2", nil), "2001:db8::2"},
		{"NA", frametest.ND(136, tMAC, "2001:db8::5", "2001:db8::2", nil), ""},
		{"plain IPv4", append(frametest.Eth(tMAC2, tMAC, 0x0800, false), make([]byte, 20)...), ""},
	} {
		f, err := Parse(tc.data)
		got := ""
		if f.Sought.IsValid() {
			got = f.Sought.String()
		}
		if err != nil || got != tc.want {
			t.Errorf("%s: sought %q (err %v), want %q", tc.name, got, err, tc.want)
		}
	}
}
