package mapserver

import (
	"net/netip"
	"testing"
	"time"
)

func TestRateLimiter(t *testing.T) {
	a := netip.MustParseAddr("192.0.2.7")
	cases := []struct {
		name  string
		rate  float64
		burst int
		at    []time.Duration // times of the calls
		want  []bool
	}{
		{"burst then refused", 10, 2, []time.Duration{0, 0, 0}, []bool{true, true, false}},
		{"refills with time", 10, 1, []time.Duration{0, 0, 100 * time.Millisecond}, []bool{true, false, true}},
		{"never above the burst", 1000, 2, []time.Duration{0, time.Hour, time.Hour, time.Hour}, []bool{true, true, true, false}},
		{"unlimited", -1, 1, []time.Duration{0, 0, 0}, []bool{true, true, true}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l := newRateLimiter(c.rate, c.burst, 16)
			for i, at := range c.at {
				if got := l.allow(a, int64(at)); got != c.want[i] {
					t.Fatalf("call %d at %v: %v, want %v", i, at, got, c.want[i])
				}
			}
		})
	}
}

func TestRateLimiterBounded(t *testing.T) {
	l := newRateLimiter(1, 1, 1000)
	if l.capacity() < 1000 || l.capacity() > 2048 {
		t.Fatalf("capacity %d", l.capacity())
	}
	victim := netip.MustParseAddr("198.51.100.1")
	l.allow(victim, 0)
	// Many other sources come and go; the table never grows.
	for i := range 100000 {
		l.allow(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), int64(i))
	}
	if l.capacity() > 2048 {
		t.Fatal("grew")
	}
}

func BenchmarkRateLimiter(b *testing.B) {
	l := newRateLimiter(1e9, 1e9, 1024)
	a := netip.MustParseAddr("127.0.0.1")
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		l.allow(a, int64(i))
	}
}
