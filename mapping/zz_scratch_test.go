package mapping

import "testing"

var zsink uint64

func BenchmarkZZRaw(b *testing.B) {
	x := macFixture.get(b)
	q := make([]MAC, benchQueries)
	for i := range q {
		q[i] = benchMAC(int(mix64(uint64(i)) % benchEIDs))
	}
	m := x.spaces[1].macs
	b.Run("raw", func(b *testing.B) {
		for i := range b.N {
			e := m[q[i&(benchQueries-1)]]
			zsink += e.version
		}
	})
	b.Run("rawlock", func(b *testing.B) {
		for i := range b.N {
			x.mu.RLock()
			e := m[q[i&(benchQueries-1)]]
			zsink += e.version
			x.mu.RUnlock()
		}
	})
	b.Run("lookup", func(b *testing.B) {
		for i := range b.N {
			r, _ := x.LookupMAC(1, q[i&(benchQueries-1)])
			zsink += r.Version
		}
	})
	b.Run("copy", func(b *testing.B) {
		m2 := make(map[MAC]entry)
		for k, v := range m {
			m2[k] = v
		}
		b.ResetTimer()
		for i := range b.N {
			e := m2[q[i&(benchQueries-1)]]
			zsink += e.version
		}
	})
}

func BenchmarkZZDep(b *testing.B) {
	x := macFixture.get(b)
	q := make([]MAC, benchQueries)
	for i := range q {
		q[i] = benchMAC(int(mix64(uint64(i)) % benchEIDs))
	}
	m := x.spaces[1].macs
	b.Run("rawdep", func(b *testing.B) {
		var d uint64
		for i := range b.N {
			e := m[q[(i+int(d&1))&(benchQueries-1)]]
			d = e.version
		}
		zsink += d
	})
	b.Run("lookupdep", func(b *testing.B) {
		var d uint64
		for i := range b.N {
			r, _ := x.LookupMAC(1, q[(i+int(d&1))&(benchQueries-1)])
			d = r.Version
		}
		zsink += d
	})
	sl := make([]uint64, 1<<24)
	for i := range sl {
		sl[i] = mix64(uint64(i))
	}
	b.Run("slicedep", func(b *testing.B) {
		var d uint64
		for i := range b.N {
			d = sl[(mix64(uint64(i)+d))&(1<<24-1)]
		}
		zsink += d
	})
}

func (x *Index) zzNoDefer(iid uint32, m MAC) (Record, bool) {
	x.mu.RLock()
	r, ok := x.lookupMAC(iid, m)
	x.mu.RUnlock()
	return r, ok
}

func (x *Index) zzNoDecode(iid uint32, m MAC) (uint64, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	sp := x.spaces[iid]
	if sp == nil {
		return 0, false
	}
	en, ok := sp.macs[m]
	return en.version, ok
}

func (x *Index) zzNoLock(iid uint32, m MAC) (Record, bool) {
	return x.lookupMAC(iid, m)
}

func BenchmarkZZVar(b *testing.B) {
	x := macFixture.get(b)
	q := make([]MAC, benchQueries)
	for i := range q {
		q[i] = benchMAC(int(mix64(uint64(i)) % benchEIDs))
	}
	b.Run("nodefer", func(b *testing.B) {
		for i := range b.N {
			r, _ := x.zzNoDefer(1, q[i&(benchQueries-1)])
			zsink += r.Version
		}
	})
	b.Run("nodecode", func(b *testing.B) {
		for i := range b.N {
			r, _ := x.zzNoDecode(1, q[i&(benchQueries-1)])
			zsink += r
		}
	})
	b.Run("nolock", func(b *testing.B) {
		for i := range b.N {
			r, _ := x.zzNoLock(1, q[i&(benchQueries-1)])
			zsink += r.Version
		}
	})
}

func BenchmarkZZVar2(b *testing.B) {
	x := macFixture.get(b)
	q := make([]MAC, benchQueries)
	for i := range q {
		q[i] = benchMAC(int(mix64(uint64(i)) % benchEIDs))
	}
	b.Run("spaces-inline", func(b *testing.B) {
		for i := range b.N {
			sp := x.spaces[1]
			e := sp.macs[q[i&(benchQueries-1)]]
			zsink += e.version
		}
	})
	b.Run("macs-field", func(b *testing.B) {
		sp := x.spaces[1]
		for i := range b.N {
			e := sp.macs[q[i&(benchQueries-1)]]
			zsink += e.version
		}
	})
	b.Run("macs-local", func(b *testing.B) {
		m := x.spaces[1].macs
		for i := range b.N {
			e := m[q[i&(benchQueries-1)]]
			zsink += e.version
		}
	})
}

func BenchmarkZZHot(b *testing.B) {
	x := macFixture.get(b)
	q := make([]MAC, 16)
	for i := range q {
		q[i] = benchMAC(int(mix64(uint64(i)) % benchEIDs))
	}
	b.Run("lookup-hot", func(b *testing.B) {
		for i := range b.N {
			r, _ := x.LookupMAC(1, q[i&15])
			zsink += r.Version
		}
	})
	b.Run("nodecode-hot", func(b *testing.B) {
		for i := range b.N {
			r, _ := x.zzNoDecode(1, q[i&15])
			zsink += r
		}
	})
	b.Run("raw-hot", func(b *testing.B) {
		m := x.spaces[1].macs
		for i := range b.N {
			e := m[q[i&15]]
			zsink += e.version
		}
	})
}
