package mapping

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"runtime"
	"sync"
	"testing"
	"time"
)

const (
	benchEIDs    = 1 << 20 // "1M"
	benchQueries = 1 << 16 // query ring, indexed by i&(benchQueries-1)
)

// mix64 is splitmix64's finalizer: a cheap bijection that scatters keys.
func mix64(v uint64) uint64 {
	v += 0x9e3779b97f4a7c15
	v = (v ^ v>>30) * 0xbf58476d1ce4e5b9
	v = (v ^ v>>27) * 0x94d049bb133111eb
	return v ^ v>>31
}

// benchLocators is a pool of 1000 two-RLOC sets shared by the records, as
// sites share their xTRs.
var benchLocators = func() [][]Locator {
	out := make([][]Locator, 1000)
	for i := range out {
		a := netip.AddrFrom4([4]byte{192, 0, byte(i >> 8), byte(i)})
		b := netip.AddrFrom4([4]byte{198, 51, byte(i >> 8), byte(i)})
		out[i] = []Locator{{Addr: a, Priority: 1, Weight: 50, Up: true}, {Addr: b, Priority: 1, Weight: 50, Up: true}}
	}
	return out
}()

var benchPorts = func() []string {
	out := make([]string, 48)
	for i := range out {
		out[i] = fmt.Sprintf("eth%d", i)
	}
	return out
}()

var benchSites = func() []string {
	out := make([]string, 100)
	for i := range out {
		out[i] = fmt.Sprint("site", i)
	}
	return out
}()

var benchXTRs = func() []string {
	out := make([]string, len(benchLocators))
	for i, ls := range benchLocators {
		out[i] = ls[0].Addr.String()
	}
	return out
}()

var benchTime = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

func benchRecord(i int, e EID) Record {
	set := i % len(benchLocators)
	return Record{
		EID: e, Locators: benchLocators[set], TTL: DefaultTTL, Origin: OriginRegistered,
		Site: benchSites[set%len(benchSites)], XTR: benchXTRs[set],
		Port: benchPorts[i%len(benchPorts)], Version: uint64(i), UpdatedAt: benchTime,
	}
}

func benchMAC(i int) MAC {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], mix64(uint64(i)))
	return MAC{b[2] &^ 1, b[3], b[4], b[5], b[6], b[7]} // unicast
}

// benchV4 is a distinct scattered address per i (odd multiplication is a
// bijection modulo 2^32).
func benchV4(i int) netip.Addr {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], uint32(i)*2654435761)
	return netip.AddrFrom4(b)
}

func benchV6(i int) netip.Addr {
	var b [16]byte
	b[0], b[1], b[2], b[3] = 0x20, 0x01, 0x0d, 0xb8
	binary.BigEndian.PutUint32(b[4:], uint32(i%65536)*2654435761) // 65536 /64s
	binary.BigEndian.PutUint64(b[8:], mix64(uint64(i)))
	return netip.AddrFrom16(b)
}

// fillMAC, fillV4 and fillV6 build the 1M-EID tables: MAC EIDs; IPv4 /32s
// plus /24, /16 and /8 prefixes; IPv6 /128s plus /64 and /48 prefixes.
func fillMAC(x *Index) {
	for i := range benchEIDs {
		x.Put(benchRecord(i, MACEID(1, benchMAC(i))))
	}
}

func fillV4(x *Index) {
	for i := range benchEIDs {
		x.Put(benchRecord(i, PrefixEID(1, netip.PrefixFrom(benchV4(i), 32))))
	}
	for i := range 20000 {
		n := 24
		switch {
		case i%1000 == 0:
			n = 8
		case i%10 == 0:
			n = 16
		}
		x.Put(benchRecord(i, PrefixEID(1, netip.PrefixFrom(benchV4(benchEIDs+i), n))))
	}
}

func fillV6(x *Index) {
	for i := range benchEIDs {
		x.Put(benchRecord(i, PrefixEID(1, netip.PrefixFrom(benchV6(i), 128))))
	}
	for i := range 4096 {
		n := []int{64, 64, 64, 48}[i%4] // 3072 /64s and 1024 /48s (1.5% of the /48s in use)
		x.Put(benchRecord(i, PrefixEID(1, netip.PrefixFrom(benchV6(i), n))))
	}
}

// fixture builds an index once per test binary run, so that the repeated
// runs of a benchmark with growing b.N reuse it.
type fixture struct {
	once sync.Once
	fill func(*Index)
	x    *Index
}

func (f *fixture) get(b *testing.B) *Index {
	b.Helper()
	b.StopTimer()
	f.once.Do(func() {
		f.x = NewIndex()
		f.fill(f.x)
	})
	b.StartTimer()
	return f.x
}

var (
	macFixture = fixture{fill: fillMAC}
	v4Fixture  = fixture{fill: fillV4}
	v6Fixture  = fixture{fill: fillV6}
)

// addrQueries mixes hits on host EIDs (even slots) with other addresses
// (odd slots) that fall back to a shorter prefix or miss.
func addrQueries(host, other func(int) netip.Addr) []netip.Addr {
	q := make([]netip.Addr, benchQueries)
	for i := range q {
		j := int(mix64(uint64(i)) % benchEIDs)
		if i%2 == 0 {
			q[i] = host(j)
		} else {
			q[i] = other(j)
		}
	}
	return q
}

// startCPU resets the timer and returns a func that reports the process
// CPU time per op, which unlike ns/op does not count time spent waiting
// for a core on a loaded machine.
func startCPU(b *testing.B) func() {
	b.ReportAllocs()
	b.ResetTimer()
	start := processCPU()
	return func() {
		b.ReportMetric(float64(processCPU()-start)/float64(b.N), "cpu-ns/op")
	}
}

func BenchmarkLookupMAC1M(b *testing.B) {
	x := macFixture.get(b)
	q := make([]MAC, benchQueries)
	for i := range q {
		q[i] = benchMAC(int(mix64(uint64(i)) % benchEIDs))
	}
	defer startCPU(b)()
	for i := range b.N {
		if _, ok := x.LookupMAC(1, q[i&(benchQueries-1)]); !ok {
			b.Fatal("miss")
		}
	}
}

func benchLookupAddr(b *testing.B, x *Index, q []netip.Addr) {
	defer startCPU(b)()
	for i := range b.N {
		x.LookupAddr(1, q[i&(benchQueries-1)])
	}
}

func BenchmarkLookupIPv4_1M(b *testing.B) {
	x := v4Fixture.get(b)
	hosts := addrQueries(benchV4, benchV4)
	mixed := addrQueries(benchV4, func(j int) netip.Addr { return benchV4(j).Next() })
	b.Run("host", func(b *testing.B) { benchLookupAddr(b, x, hosts) })
	b.Run("mixed", func(b *testing.B) { benchLookupAddr(b, x, mixed) })
	b.Run("mixed-trie-walk", func(b *testing.B) { benchTrieLPM(b, x, mixed) })
	b.Run("mixed-parallel", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for i := 0; pb.Next(); i++ {
				x.LookupAddr(1, mixed[i&(benchQueries-1)])
			}
		})
	})
	b.Run("negative", func(b *testing.B) {
		defer startCPU(b)()
		for i := range b.N {
			x.Negative(1, mixed[i&(benchQueries-1)])
		}
	})
}

func BenchmarkLookupIPv6_1M(b *testing.B) {
	x := v6Fixture.get(b)
	hosts := addrQueries(benchV6, benchV6)
	mixed := addrQueries(benchV6, func(j int) netip.Addr { return benchV6(j).Next() })
	b.Run("host", func(b *testing.B) { benchLookupAddr(b, x, hosts) })
	b.Run("mixed", func(b *testing.B) { benchLookupAddr(b, x, mixed) })
	b.Run("mixed-trie-walk", func(b *testing.B) { benchTrieLPM(b, x, mixed) })
}

// benchTrieLPM measures the alternative design: LPM by walking the trie.
func benchTrieLPM(b *testing.B, x *Index, q []netip.Addr) {
	t := x.spaces[1].ip[famIndex(q[0])]
	defer startCPU(b)()
	for i := range b.N {
		k := addrKey(q[i&(benchQueries-1)])
		if n, ok := t.trieLPM(k, t.maxBits); ok {
			t.get(k.mask(n), n) // fetch the entry, as LookupAddr does
		}
	}
}

// memoryResults caches each measurement: it needs a fresh 1M build, which
// must not be repeated for every b.N the framework tries.
var memoryResults sync.Map

func BenchmarkMemoryPerEID1M(b *testing.B) {
	for _, c := range []struct {
		name string
		fill func(*Index)
	}{{"mac", fillMAC}, {"ipv4", fillV4}, {"ipv6", fillV6}} {
		b.Run(c.name, func(b *testing.B) {
			v, ok := memoryResults.Load(c.name)
			if !ok {
				v = measureHeap(c.fill)
				memoryResults.Store(c.name, v)
			}
			b.ResetTimer()
			for range b.N {
			}
			b.ReportMetric(v.(float64), "B/EID")
		})
	}
}

// measureHeap is the in-use heap growth per record of building an index.
func measureHeap(fill func(*Index)) float64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	x := NewIndex()
	fill(x)
	runtime.GC()
	runtime.ReadMemStats(&after)
	n := x.Len()
	runtime.KeepAlive(x)
	return float64(int64(after.HeapInuse)-int64(before.HeapInuse)) / float64(n)
}

func BenchmarkPut(b *testing.B) {
	b.Run("mac-new", func(b *testing.B) {
		x := NewIndex()
		defer startCPU(b)()
		for i := range b.N {
			x.Put(benchRecord(i, MACEID(1, benchMAC(i))))
		}
	})
	b.Run("ipv4-new", func(b *testing.B) {
		x := NewIndex()
		defer startCPU(b)()
		for i := range b.N {
			x.Put(benchRecord(i, PrefixEID(1, netip.PrefixFrom(benchV4(i), 32))))
		}
	})
	b.Run("ipv4-replace", func(b *testing.B) {
		x := NewIndex()
		for i := range benchQueries {
			x.Put(benchRecord(i, PrefixEID(1, netip.PrefixFrom(benchV4(i), 32))))
		}
		defer startCPU(b)()
		for i := range b.N {
			j := i & (benchQueries - 1)
			x.Put(benchRecord(i, PrefixEID(1, netip.PrefixFrom(benchV4(j), 32))))
		}
	})
}
