package reconcile

import (
	"net/netip"
	"testing"
	"time"
)

// TestRefusalLimiter: one key passes once per its interval and says how
// many it held back; other keys are independent; a flood of new keys is
// held to the global rate.
func TestRefusalLimiter(t *testing.T) {
	l := newLimiter(budget{perKey: time.Minute, rate: 1, burst: 3})
	t0 := time.Unix(1000, 0)
	k := refusalKey{reason: "duplicate", src: netip.MustParseAddr("203.0.113.9"), name: "dc1-edge/"}
	if ok, n := l.allow(k, t0); !ok || n != 0 {
		t.Fatalf("first: %v %d", ok, n)
	}
	for i := 1; i <= 5; i++ {
		if ok, _ := l.allow(k, t0.Add(time.Duration(i)*time.Second)); ok {
			t.Fatalf("repeat %d within the minute let through", i)
		}
	}
	if ok, n := l.allow(k, t0.Add(61*time.Second)); !ok || n != 5 {
		t.Errorf("after the minute: %v, held back %d, want 5", ok, n)
	}
	// A burst of new sources: 3 tokens left at most, 1 per second after.
	l = newLimiter(budget{perKey: time.Minute, rate: 1, burst: 3})
	passed := 0
	for i := range 1000 {
		k := refusalKey{reason: "tls_handshake", src: netip.AddrFrom4([4]byte{198, 51, 100, byte(i)}), name: string(rune(i))}
		if ok, _ := l.allow(k, t0.Add(time.Duration(i)*time.Millisecond)); ok {
			passed++
		}
	}
	if passed != 3 {
		t.Errorf("1000 new keys in 1 s: %d let through, want 3 (the burst)", passed)
	}
}
