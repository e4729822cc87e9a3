package mapping

import (
	"encoding/binary"
	"math/bits"
	"net/netip"
)

// u128 holds an IP address as a 128-bit big-endian integer; an IPv4
// address sits in the top 32 bits so both families share one code path.
type u128 struct{ hi, lo uint64 }

func addrKey(a netip.Addr) u128 {
	if a.Is4() {
		b := a.As4()
		return u128{hi: uint64(binary.BigEndian.Uint32(b[:])) << 32}
	}
	b := a.As16()
	return u128{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])}
}

func (k u128) addr(v4 bool) netip.Addr {
	if v4 {
		var b [4]byte
		binary.BigEndian.PutUint32(b[:], uint32(k.hi>>32))
		return netip.AddrFrom4(b)
	}
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], k.hi)
	binary.BigEndian.PutUint64(b[8:], k.lo)
	return netip.AddrFrom16(b)
}

// mask keeps the first n bits.
func (k u128) mask(n int) u128 {
	switch {
	case n <= 0:
		return u128{}
	case n < 64:
		return u128{hi: k.hi &^ (^uint64(0) >> n)}
	case n < 128:
		return u128{k.hi, k.lo &^ (^uint64(0) >> (n - 64))}
	}
	return k
}

// bit returns bit i, counting from the most significant.
func (k u128) bit(i int) uint8 {
	if i < 64 {
		return uint8(k.hi>>(63-i)) & 1
	}
	return uint8(k.lo>>(127-i)) & 1
}

// commonLen is the number of leading bits a and b share (128 if equal).
func commonLen(a, b u128) int {
	if x := a.hi ^ b.hi; x != 0 {
		return bits.LeadingZeros64(x)
	}
	return 64 + bits.LeadingZeros64(a.lo^b.lo)
}

// tnode is a node of the path-compressed binary trie. A node either is an
// EID prefix or is a glue node with exactly two children, so every
// non-root subtree holds at least one EID: Negative relies on that.
type tnode struct {
	key   u128
	child [2]uint32 // node indices; 0 means none (the root is never a child)
	bits  uint8
	eid   bool // false for glue
}

// ipTable holds the IP EIDs of one (instance-id, family). Exact and
// longest-prefix lookups go through one hash map per prefix length, probed
// from the longest present length down: at most a few probes for typical
// tables, each O(1), and the entry sits in the map slot, saving a cache
// miss. The trie holds only the prefixes: it answers Negative and gives
// ordered ranging.
type ipTable struct {
	v4      bool
	maxBits int
	// Entries by prefix length, keyed by the masked address: an IPv4 key
	// is u128.hi, which takes the runtime's faster path for 8-byte keys.
	lens4   []map[uint64]entry
	lens6   []map[u128]entry
	present [3]uint64 // bit l set when prefix length l is in use
	n       int
	nodes   []tnode // nodes[0] is the root, the /0 prefix
	free    []uint32
}

func newIPTable(v4 bool) *ipTable {
	t := &ipTable{v4: v4, maxBits: 128, nodes: make([]tnode, 1)}
	if v4 {
		t.maxBits = 32
		t.lens4 = make([]map[uint64]entry, 33)
	} else {
		t.lens6 = make([]map[u128]entry, 129)
	}
	return t
}

// get returns the entry of prefix k/n, k masked.
func (t *ipTable) get(k u128, n int) (entry, bool) {
	if t.v4 {
		en, ok := t.lens4[n][k.hi]
		return en, ok
	}
	en, ok := t.lens6[n][k]
	return en, ok
}

// store sets the entry of prefix k/n, k masked, in the hash maps only.
func (t *ipTable) store(k u128, n int, en entry) {
	if t.v4 {
		if t.lens4[n] == nil {
			t.lens4[n] = make(map[uint64]entry)
		}
		t.lens4[n][k.hi] = en
		return
	}
	if t.lens6[n] == nil {
		t.lens6[n] = make(map[u128]entry)
	}
	t.lens6[n][k] = en
}

// drop removes prefix k/n from the hash maps and reports whether its
// length is now unused; emptied maps are released to free their buckets.
func (t *ipTable) drop(k u128, n int) (emptied bool) {
	if t.v4 {
		delete(t.lens4[n], k.hi)
		if emptied = len(t.lens4[n]) == 0; emptied {
			t.lens4[n] = nil
		}
		return emptied
	}
	delete(t.lens6[n], k)
	if emptied = len(t.lens6[n]) == 0; emptied {
		t.lens6[n] = nil
	}
	return emptied
}

// put stores the entry of prefix k/n (k masked) and returns the one it
// replaced, if any.
func (t *ipTable) put(k u128, n int, en entry) (old entry, replaced bool) {
	old, replaced = t.get(k, n)
	t.store(k, n, en)
	if !replaced {
		t.present[n>>6] |= 1 << (n & 63)
		t.n++
		t.trieInsert(k, n)
	}
	return old, replaced
}

// remove deletes a prefix and returns its entry.
func (t *ipTable) remove(k u128, n int) (entry, bool) {
	en, ok := t.get(k, n)
	if !ok {
		return entry{}, false
	}
	if t.drop(k, n) {
		t.present[n>>6] &^= 1 << (n & 63)
	}
	t.n--
	t.trieRemove(k, n)
	return en, true
}

// lpm finds the longest prefix of at most limit bits that covers k.
func (t *ipTable) lpm(k u128, limit int) (en entry, n int, ok bool) {
	top := limit >> 6
	for w := top; w >= 0; w-- {
		used := t.present[w]
		if w == top {
			used &= ^uint64(0) >> (63 - limit&63)
		}
		for used != 0 {
			hb := 63 - bits.LeadingZeros64(used)
			l := w<<6 | hb
			if en, ok := t.get(k.mask(l), l); ok {
				return en, l, true
			}
			used &^= 1 << hb
		}
	}
	return entry{}, 0, false
}

func (t *ipTable) newNode(k u128, n int, eid bool) uint32 {
	nd := tnode{key: k, bits: uint8(n), eid: eid}
	if l := len(t.free); l > 0 {
		i := t.free[l-1]
		t.free = t.free[:l-1]
		t.nodes[i] = nd
		return i
	}
	t.nodes = append(t.nodes, nd)
	return uint32(len(t.nodes) - 1)
}

func (t *ipTable) freeNode(i uint32) {
	t.nodes[i] = tnode{}
	t.free = append(t.free, i)
}

// trieInsert adds prefix k/n, splitting a compressed edge where needed.
func (t *ipTable) trieInsert(k u128, n int) {
	cur := uint32(0)
	for {
		nd := &t.nodes[cur]
		if int(nd.bits) == n {
			nd.eid = true
			return
		}
		side := k.bit(int(nd.bits))
		c := nd.child[side]
		if c == 0 {
			leaf := t.newNode(k, n, true)
			t.nodes[cur].child[side] = leaf
			return
		}
		cn := t.nodes[c]
		common := min(commonLen(k, cn.key), n, int(cn.bits))
		if common == int(cn.bits) {
			cur = c
			continue
		}
		var mid uint32
		if common == n {
			mid = t.newNode(k, n, true)
		} else {
			mid = t.newNode(k.mask(common), common, false)
			leaf := t.newNode(k, n, true)
			t.nodes[mid].child[k.bit(common)] = leaf
		}
		t.nodes[mid].child[cn.key.bit(common)] = c
		t.nodes[cur].child[side] = mid
		return
	}
}

// find returns the node of exactly k/n, its parent and grandparent, and
// the sides they hang on; ok is false if there is no such node.
func (t *ipTable) find(k u128, n int) (cur, p, gp uint32, side, pside uint8, ok bool) {
	for int(t.nodes[cur].bits) != n {
		b := k.bit(int(t.nodes[cur].bits))
		c := t.nodes[cur].child[b]
		if c == 0 {
			return 0, 0, 0, 0, 0, false
		}
		cn := &t.nodes[c]
		if int(cn.bits) > n || commonLen(k, cn.key) < int(cn.bits) {
			return 0, 0, 0, 0, 0, false
		}
		gp, p, pside, side = p, cur, side, b
		cur = c
	}
	return cur, p, gp, side, pside, true
}

// trieRemove drops prefix k/n and splices out nodes that no longer carry
// an EID or branch, keeping the "every subtree holds an EID" invariant.
func (t *ipTable) trieRemove(k u128, n int) {
	cur, p, gp, side, pside, ok := t.find(k, n)
	if !ok {
		return
	}
	nd := &t.nodes[cur]
	nd.eid = false
	if cur == 0 {
		return
	}
	switch {
	case nd.child[0] != 0 && nd.child[1] != 0:
		return // stays as glue
	case nd.child[0] != 0 || nd.child[1] != 0:
		t.nodes[p].child[side] = nd.child[0] | nd.child[1]
		t.freeNode(cur)
		return
	}
	t.nodes[p].child[side] = 0
	t.freeNode(cur)
	pn := &t.nodes[p]
	if p == 0 || pn.eid {
		return
	}
	// p was glue with two children and now has one: splice it out too.
	t.nodes[gp].child[pside] = pn.child[0] | pn.child[1]
	t.freeNode(p)
}

// negative returns the length of the largest prefix containing the full
// address k that contains no EID prefix; ok is false if an EID covers k.
func (t *ipTable) negative(k u128) (n int, ok bool) {
	root := &t.nodes[0]
	if root.eid {
		return 0, false
	}
	if root.child[0] == 0 && root.child[1] == 0 {
		return 0, true
	}
	cur := uint32(0)
	for {
		nb := int(t.nodes[cur].bits)
		c := t.nodes[cur].child[k.bit(nb)]
		if c == 0 {
			return nb + 1, true
		}
		cn := &t.nodes[c]
		if common := commonLen(k, cn.key); common < int(cn.bits) {
			return common + 1, true
		}
		if cn.eid {
			return 0, false
		}
		cur = c
	}
}

// trieLPM is longest-prefix match by walking the trie. The index uses the
// hash maps instead; this one cross-checks them in tests and benchmarks.
func (t *ipTable) trieLPM(k u128, limit int) (n int, ok bool) {
	cur := uint32(0)
	ok = t.nodes[0].eid
	for {
		nb := int(t.nodes[cur].bits)
		if nb >= limit {
			return n, ok
		}
		c := t.nodes[cur].child[k.bit(nb)]
		if c == 0 {
			return n, ok
		}
		cn := &t.nodes[c]
		if int(cn.bits) > limit || commonLen(k, cn.key) < int(cn.bits) {
			return n, ok
		}
		if cn.eid {
			n, ok = int(cn.bits), true
		}
		cur = c
	}
}

// walk visits the EID prefixes in address order, shorter before longer.
func (t *ipTable) walk(fn func(k u128, n int, en *entry) bool) bool {
	stack := make([]uint32, 1, 64)
	for len(stack) > 0 {
		nd := t.nodes[stack[len(stack)-1]]
		stack = stack[:len(stack)-1]
		if nd.eid {
			en, _ := t.get(nd.key, int(nd.bits))
			if !fn(nd.key, int(nd.bits), &en) {
				return false
			}
		}
		if nd.child[1] != 0 {
			stack = append(stack, nd.child[1])
		}
		if nd.child[0] != 0 {
			stack = append(stack, nd.child[0])
		}
	}
	return true
}

func (t *ipTable) prefix(k u128, n int) netip.Prefix {
	return netip.PrefixFrom(k.mask(n).addr(t.v4), n)
}
