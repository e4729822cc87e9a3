package mapping

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"sync"
	"testing"
)

func TestInterning(t *testing.T) {
	x := NewIndex()
	shared := locs("192.0.2.1", "192.0.2.2")
	a, b := eid(t, 1, "00:00:5e:00:53:01"), eid(t, 1, "10.0.0.0/24")
	x.Put(Record{EID: a, Locators: shared, Site: "s", XTR: "x"})
	x.Put(Record{EID: b, Locators: locs("192.0.2.1", "192.0.2.2"), Site: "s", XTR: "x"})
	shared[0].Priority = 99 // the caller's slice is not the index's
	ra, _ := x.Get(a)
	rb, _ := x.Get(b)
	if &ra.Locators[0] != &rb.Locators[0] {
		t.Error("equal locator sets are not shared")
	}
	if ra.Locators[0].Priority != 1 {
		t.Error("changing the caller's slice after Put changed the index")
	}
	if cap(ra.Locators) != len(ra.Locators) {
		t.Error("a shared set has spare capacity an append could write into")
	}
	if st := x.Stats(); st.LocatorSets != 1 || st.Strings != 2 {
		t.Errorf("Stats = %+v, want 1 locator set and 2 strings", st)
	}

	x.Put(Record{EID: a, Locators: locs("198.51.100.1"), Site: "s", XTR: "x"})
	rb2, _ := x.Get(b)
	if !slices.Equal(rb2.Locators, locs("192.0.2.1", "192.0.2.2")) || !slices.Equal(rb.Locators, rb2.Locators) {
		t.Errorf("replacing a's locators changed b's: %v", rb2.Locators)
	}
	if !slices.Equal(ra.Locators, locs("192.0.2.1", "192.0.2.2")) {
		t.Errorf("a record handed out earlier changed: %v", ra.Locators)
	}
	if st := x.Stats(); st.LocatorSets != 2 {
		t.Errorf("LocatorSets = %d, want 2", st.LocatorSets)
	}
	reordered := locs("192.0.2.2", "192.0.2.1")
	reordered[0].Weight, reordered[1].Weight = 10, 20
	x.Put(Record{EID: eid(t, 1, "10.0.1.0/24"), Locators: reordered})
	if st := x.Stats(); st.LocatorSets != 3 {
		t.Errorf("LocatorSets = %d, want 3 (order is part of a set)", st.LocatorSets)
	}
	x.Delete(a)
	x.Delete(b)
	x.Delete(eid(t, 1, "10.0.1.0/24"))
	if st := x.Stats(); st.LocatorSets != 0 || st.Strings != 0 {
		t.Errorf("after deleting everything Stats = %+v", st)
	}
}

func TestRange(t *testing.T) {
	x := fill(t, "10.0.0.0/8", "10.1.0.0/16", "2001:db8::/32", "00:00:5e:00:53:01")
	x.Put(Record{EID: eid(t, 9, "10.0.0.1"), Site: "10.0.0.1/32"})
	var all []string
	x.Range(func(r Record) bool {
		all = append(all, r.EID.String())
		return true
	})
	slices.Sort(all)
	want := []string{"[7]00:00:5e:00:53:01", "[7]10.0.0.0/8", "[7]10.1.0.0/16", "[7]2001:db8::/32", "[9]10.0.0.1/32"}
	if !slices.Equal(all, want) {
		t.Errorf("Range = %v, want %v", all, want)
	}
	var ip []string
	x.RangeIID(7, func(r Record) bool {
		if r.EID.Family() != FamilyMAC {
			ip = append(ip, r.EID.Address())
		}
		return true
	})
	if want := []string{"10.0.0.0/8", "10.1.0.0/16", "2001:db8::/32"}; !slices.Equal(ip, want) {
		t.Errorf("RangeIID(7) IP records = %v, want %v in order", ip, want)
	}
	n := 0
	x.Range(func(Record) bool { n++; return n < 2 })
	if n != 2 {
		t.Errorf("Range went on after false: %d calls", n)
	}
	x.RangeIID(8, func(Record) bool { t.Error("RangeIID of an empty iid called fn"); return true })
}

func TestConcurrentReadersWithWriter(t *testing.T) {
	x := NewIndex()
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(done)
		for i := range 3000 {
			a := netip.AddrFrom4([4]byte{10, 0, byte(i >> 8 & 7), byte(i)})
			e := PrefixEID(1, netip.PrefixFrom(a, 24+i%9))
			x.Put(Record{EID: e, Site: e.Address(), Locators: locs(fmt.Sprintf("192.0.2.%d", i%5))})
			x.Put(Record{EID: MACEID(1, MAC{0, 0, 0, 0, byte(i >> 8), byte(i)}), Site: "mac"})
			if i%3 == 0 {
				x.Delete(e)
			}
		}
	}()
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-done:
					return
				default:
				}
				a := netip.AddrFrom4([4]byte{10, 0, byte(i >> 8 & 7), byte(i)})
				if r, ok := x.LookupAddr(1, a); ok && r.Site != r.EID.Address() {
					t.Errorf("record %s carries Site %q", r.EID, r.Site)
					return
				}
				if r, ok := x.LookupMAC(1, MAC{0, 0, 0, 0, byte(i >> 8), byte(i)}); ok && r.Site != "mac" {
					t.Errorf("MAC record carries Site %q", r.Site)
					return
				}
				x.Negative(1, a)
				if i%256 == 0 {
					x.RangeIID(1, func(Record) bool { return true })
					x.Len()
					x.IIDs()
				}
			}
		}()
	}
	wg.Wait()
}

// model is the brute-force reference: a plain map scanned linearly.
type model map[EID]Record

// space lists the IP EID prefixes of iid in a's family.
func (m model) space(iid uint32, a netip.Addr) []netip.Prefix {
	var out []netip.Prefix
	for e := range m {
		if e.IID == iid && e.Family() != FamilyMAC && e.Prefix.Addr().Is4() == a.Is4() {
			out = append(out, e.Prefix)
		}
	}
	return out
}

func (m model) lpm(ps []netip.Prefix, a netip.Addr) (netip.Prefix, bool) {
	var best netip.Prefix
	for _, p := range ps {
		if p.Contains(a) && (!best.IsValid() || p.Bits() > best.Bits()) {
			best = p
		}
	}
	return best, best.IsValid()
}

// negative finds the shortest prefix of a holding no EID prefix; whether a
// prefix of a holds one only grows with its size, so a binary search works.
func (m model) negative(ps []netip.Prefix, a netip.Addr) (netip.Prefix, bool) {
	if _, ok := m.lpm(ps, a); ok {
		return netip.Prefix{}, false
	}
	holds := func(l int) bool {
		q := netip.PrefixFrom(a, l).Masked()
		for _, p := range ps {
			if p.Bits() >= l && q.Contains(p.Addr()) {
				return true
			}
		}
		return false
	}
	lo, hi := 0, a.BitLen() // holds(hi) is false: a itself is not covered
	for lo < hi {
		if mid := (lo + hi) / 2; holds(mid) {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return netip.PrefixFrom(a, lo).Masked(), true
}

// check compares x with m at the probe addresses and checks the tries; it
// returns how many probes were covered and how many were not.
func (m model) check(t *testing.T, x *Index, iids []uint32, probes []netip.Addr) (covered, uncovered int) {
	t.Helper()
	if x.Len() != len(m) {
		t.Fatalf("Len = %d, model has %d", x.Len(), len(m))
	}
	for e, want := range m {
		got, ok := x.Get(e)
		if !ok || got.Site != want.Site || !slices.Equal(got.Locators, want.Locators) {
			t.Fatalf("Get(%s) = %+v, %v; want %+v", e, got, ok, want)
		}
	}
	for _, iid := range iids {
		for _, fam := range []netip.Addr{netip.IPv4Unspecified(), netip.IPv6Unspecified()} {
			ps := m.space(iid, fam)
			for _, a := range probes {
				if a.Is4() != fam.Is4() {
					continue
				}
				want, wok := m.lpm(ps, a)
				got, gok := x.LookupAddr(iid, a)
				if gok != wok || (gok && got.EID.Prefix != want) {
					t.Fatalf("LookupAddr(%d, %s) = %s, %v; want %s, %v", iid, a, got.EID.Prefix, gok, want, wok)
				}
				wn, wnok := m.negative(ps, a)
				gn, gnok := x.Negative(iid, a)
				if gn != wn || gnok != wnok {
					t.Fatalf("Negative(%d, %s) = %s, %v; want %s, %v", iid, a, gn, gnok, wn, wnok)
				}
				if wok {
					covered++
				} else {
					uncovered++
				}
			}
		}
	}
	checkTries(t, x)
	return covered, uncovered
}

// checkTries verifies the trie invariants and that trie walks agree with
// the hash maps.
func checkTries(t *testing.T, x *Index) {
	t.Helper()
	x.mu.RLock()
	defer x.mu.RUnlock()
	for iid, sp := range x.spaces {
		for _, tb := range sp.ip {
			if tb == nil {
				continue
			}
			entries := 0
			for i, nd := range tb.nodes {
				if i == 0 || slices.Contains(tb.free, uint32(i)) {
					continue
				}
				if !nd.eid && (nd.child[0] == 0 || nd.child[1] == 0) {
					t.Fatalf("iid %d: glue node %d with fewer than two children", iid, i)
				}
			}
			tb.walk(func(k u128, n int, _ *entry) bool {
				entries++
				if _, ok := tb.get(k, n); !ok {
					t.Fatalf("iid %d: trie has %s, the maps do not", iid, tb.prefix(k, n))
				}
				return true
			})
			if entries != tb.n {
				t.Fatalf("iid %d: trie holds %d EIDs, table counts %d", iid, entries, tb.n)
			}
		}
	}
}

// randomPrefix draws prefixes clustered enough to overlap often, yet
// mostly long enough to leave holes.
func randomPrefix(r *rand.Rand, v6 bool) netip.Prefix {
	short := r.IntN(100)
	if v6 {
		b := [16]byte{0x20, 0x01, 0x0d, 0xb8}
		for i := 4; i < 16; i++ {
			b[i] = byte(r.IntN(4))
		}
		n := []int{64, 96, 120, 126, 127, 128}[r.IntN(6)]
		switch {
		case short < 3:
			n = 33 + r.IntN(11)
		case short < 15:
			n = 44 + r.IntN(20)
		}
		return netip.PrefixFrom(netip.AddrFrom16(b), n).Masked()
	}
	a := netip.AddrFrom4([4]byte{10, byte(r.IntN(256)), byte(r.IntN(256)), byte(r.IntN(256))})
	n := 24 + r.IntN(9)
	switch {
	case short < 2:
		n = 12 + r.IntN(4)
	case short < 12:
		n = 16 + r.IntN(8)
	}
	return netip.PrefixFrom(a, n).Masked()
}

// randomProbe picks an address near one of the EID prefixes, or near a
// random prefix.
func randomProbe(r *rand.Rand, eids []EID, v6 bool) netip.Addr {
	p := randomPrefix(r, v6)
	if e := eids[r.IntN(len(eids))]; r.IntN(4) != 0 && e.Prefix.Addr().Is6() == v6 {
		p = e.Prefix
	}
	k, n := addrKey(p.Addr()), r.IntN(p.Addr().BitLen()+1)
	k = k.mask(n)
	ones := u128{^uint64(0), ^uint64(0)}.mask(n)
	k = u128{k.hi | r.Uint64()&^ones.hi, k.lo | r.Uint64()&^ones.lo}
	if !v6 {
		k.hi &^= 1<<32 - 1
		k.lo = 0
	}
	return k.addr(!v6)
}

func TestRandomAgainstBruteForce(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	x, m := NewIndex(), model{}
	iids := []uint32{1, 2}
	var eids []EID // m's keys in a fixed order, for reproducible draws
	for i := range 4000 {
		e := PrefixEID(iids[r.IntN(2)], randomPrefix(r, i%2 == 1))
		if i < 2 { // default routes in iid 2 only, so iid 1 has holes
			e = PrefixEID(2, netip.PrefixFrom(e.Prefix.Addr(), 0).Masked())
		}
		rec := Record{EID: e, Site: e.String(), Locators: locs(fmt.Sprintf("192.0.2.%d", r.IntN(4)))}
		x.Put(rec)
		if _, dup := m[e]; !dup {
			eids = append(eids, e)
		}
		m[e] = rec
	}
	probes := func() []netip.Addr {
		var out []netip.Addr
		for i := range 1500 {
			out = append(out, randomProbe(r, eids, i%2 == 1))
		}
		return out
	}
	if c, u := m.check(t, x, iids, probes()); c < 300 || u < 300 {
		t.Fatalf("weak probes: %d covered, %d not", c, u)
	}
	kept := eids[:0]
	for _, e := range eids {
		if r.IntN(2) == 0 {
			kept = append(kept, e)
			continue
		}
		if _, ok := x.Delete(e); !ok {
			t.Fatalf("Delete(%s) found nothing", e)
		}
		delete(m, e)
	}
	eids = kept
	if c, u := m.check(t, x, iids, probes()); c < 300 || u < 300 {
		t.Fatalf("weak probes: %d covered, %d not", c, u)
	}
	x.mu.RLock()
	defer x.mu.RUnlock()
	for _, a := range probes() {
		tb := x.table(1, a)
		k := addrKey(a)
		_, n1, ok1 := tb.lpm(k, tb.maxBits)
		n2, ok2 := tb.trieLPM(k, tb.maxBits)
		if n1 != n2 || ok1 != ok2 {
			t.Fatalf("%s: hash LPM /%d %v, trie LPM /%d %v", a, n1, ok1, n2, ok2)
		}
	}
}

// FuzzIndex applies Put/Delete operations decoded from the input and
// compares the index with the brute-force model.
func FuzzIndex(f *testing.F) {
	f.Add([]byte{0, 24, 198, 51, 100, 0, 2, 24, 198, 51, 100, 0})
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 32, 10, 0, 0, 1, 0, 31, 10, 0, 0, 0, 2, 0, 0, 0, 0, 0})
	f.Add([]byte{8, 64, 32, 1, 13, 184, 8, 128, 32, 1, 13, 184, 10, 64, 32, 1, 13, 184, 3, 1, 2, 3, 4, 5})
	f.Add([]byte{4, 8, 10, 0, 0, 0, 0, 16, 10, 1, 0, 0, 0, 24, 10, 1, 2, 0, 6, 16, 10, 1, 0, 0, 2, 24, 10, 1, 2, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		x, m := NewIndex(), model{}
		var probes []netip.Addr
		if len(data) > 6*64 {
			data = data[:6*64] // the model is quadratic; small tables find the bugs
		}
		for ; len(data) >= 6; data = data[6:] {
			op, iid, v6 := data[0]&3, uint32(data[0]>>2&1), data[0]>>3&1 == 1
			var a netip.Addr
			if v6 {
				a = netip.AddrFrom16([16]byte{data[2], data[3], data[4], data[5], 15: data[2] ^ data[5]})
			} else {
				a = netip.AddrFrom4([4]byte(data[2:6]))
			}
			e := PrefixEID(iid, netip.PrefixFrom(a, int(data[1])%(a.BitLen()+1)))
			if op == 3 {
				e = MACEID(iid, MAC(data[:6]))
			}
			probes = append(probes, a, netip.AddrFrom4([4]byte(data[1:5])))
			if op == 2 || (op == 3 && data[5]&1 == 1) {
				x.Delete(e)
				delete(m, e)
				continue
			}
			rec := Record{EID: e, Site: e.String(), Locators: locs(fmt.Sprintf("192.0.2.%d", data[1]%3))}
			x.Put(rec)
			m[e] = rec
		}
		m.check(t, x, []uint32{0, 1}, probes)
	})
}
