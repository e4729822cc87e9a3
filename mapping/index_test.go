package mapping

import (
	"net/netip"
	"reflect"
	"testing"
	"time"
)

// eid parses an EID in instance-id iid or fails the test.
func eid(t testing.TB, iid uint32, s string) EID {
	t.Helper()
	e, err := ParseEID(iid, s)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func locs(addrs ...string) []Locator {
	var out []Locator
	for i, a := range addrs {
		out = append(out, Locator{Addr: netip.MustParseAddr(a), Priority: 1, Weight: uint8(10 * (i + 1)), Up: true})
	}
	return out
}

// fill builds an index holding the given EIDs of instance-id 7; each
// record's Site is its EID text so tests can tell which one matched.
func fill(t testing.TB, eids ...string) *Index {
	t.Helper()
	x := NewIndex()
	for _, s := range eids {
		x.Put(Record{EID: eid(t, 7, s), Site: s, Locators: locs("192.0.2.1")})
	}
	return x
}

func TestLookupAddr(t *testing.T) {
	mixed := []string{"0.0.0.0/0", "10.0.0.0/8", "10.1.0.0/16", "10.1.2.0/24", "10.1.2.3/32", "::/0", "2001:db8::/32", "2001:db8:1::/48", "2001:db8:1::7/128"}
	tests := []struct {
		name    string
		eids    []string
		deletes []string
		iid     uint32
		addr    string
		want    string // matched EID prefix, "" for none
	}{
		{"v4 host route", mixed, nil, 7, "10.1.2.3", "10.1.2.3/32"},
		{"v4 /24", mixed, nil, 7, "10.1.2.4", "10.1.2.0/24"},
		{"v4 /16", mixed, nil, 7, "10.1.3.1", "10.1.0.0/16"},
		{"v4 /8", mixed, nil, 7, "10.200.0.1", "10.0.0.0/8"},
		{"v4 default", mixed, nil, 7, "192.0.2.1", "0.0.0.0/0"},
		{"v4-mapped is v4", mixed, nil, 7, "::ffff:10.1.2.3", "10.1.2.3/32"},
		{"v6 host", mixed, nil, 7, "2001:db8:1::7", "2001:db8:1::7/128"},
		{"v6 /48", mixed, nil, 7, "2001:db8:1::8", "2001:db8:1::/48"},
		{"v6 /32", mixed, nil, 7, "2001:db8:2::1", "2001:db8::/32"},
		{"v6 default", mixed, nil, 7, "2001:db9::1", "::/0"},
		{"zone ignored", mixed, nil, 7, "2001:db8:1::7%eth0", "2001:db8:1::7/128"},
		{"other iid", mixed, nil, 8, "10.1.2.3", ""},
		{"no default", []string{"10.0.0.0/8"}, nil, 7, "11.0.0.1", ""},
		{"v6 default does not cover v4", []string{"::/0"}, nil, 7, "10.0.0.1", ""},
		{"v4 default does not cover v6", []string{"0.0.0.0/0"}, nil, 7, "2001:db8::1", ""},
		{"delete reveals /16", mixed, []string{"10.1.2.3/32", "10.1.2.0/24"}, 7, "10.1.2.3", "10.1.0.0/16"},
		{"delete reveals default", mixed, []string{"10.0.0.0/8", "10.1.0.0/16"}, 7, "10.200.0.1", "0.0.0.0/0"},
		{"delete default", mixed, []string{"0.0.0.0/0"}, 7, "192.0.2.1", ""},
		{"delete v6 /48", mixed, []string{"2001:db8:1::/48"}, 7, "2001:db8:1::8", "2001:db8::/32"},
		{"sibling prefixes", []string{"10.0.0.0/25", "10.0.0.128/25"}, nil, 7, "10.0.0.200", "10.0.0.128/25"},
		{"deleted sibling", []string{"10.0.0.0/25", "10.0.0.128/25"}, []string{"10.0.0.128/25"}, 7, "10.0.0.200", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			x := fill(t, tc.eids...)
			for _, d := range tc.deletes {
				if _, ok := x.Delete(eid(t, 7, d)); !ok {
					t.Fatalf("Delete(%s) found nothing", d)
				}
			}
			r, ok := x.LookupAddr(tc.iid, netip.MustParseAddr(tc.addr))
			got := ""
			if ok {
				got = r.EID.Prefix.String()
				if r.Site != got {
					t.Errorf("record of %s has Site %q", got, r.Site)
				}
			}
			if got != tc.want {
				t.Errorf("LookupAddr(%d, %s) = %q, want %q", tc.iid, tc.addr, got, tc.want)
			}
		})
	}
}

func TestLookup(t *testing.T) {
	x := fill(t, "10.0.0.0/8", "10.1.0.0/16", "10.1.2.3", "2001:db8::/32", "00:00:5e:00:53:01")
	tests := []struct {
		query string
		want  string // EID address, "" for none
	}{
		{"10.1.2.0/24", "10.1.0.0/16"},
		{"10.1.0.0/16", "10.1.0.0/16"},
		{"10.1.0.0/15", "10.0.0.0/8"},
		{"10.0.0.0/8", "10.0.0.0/8"},
		{"10.0.0.0/7", ""},
		{"10.1.2.3/32", "10.1.2.3/32"},
		{"10.1.2.3/31", "10.1.0.0/16"},
		{"::ffff:10.1.2.0/120", "10.1.0.0/16"},
		{"2001:db8:5::/64", "2001:db8::/32"},
		{"2001:db8::/31", ""},
		{"00:00:5e:00:53:01", "00:00:5e:00:53:01"},
		{"00:00:5e:00:53:02", ""},
	}
	for _, tc := range tests {
		t.Run(tc.query, func(t *testing.T) {
			r, ok := x.Lookup(eid(t, 7, tc.query))
			got := ""
			if ok {
				got = r.EID.Address()
			}
			if got != tc.want {
				t.Errorf("Lookup(%s) = %q, want %q", tc.query, got, tc.want)
			}
		})
	}
}

func TestLookupMAC(t *testing.T) {
	x := fill(t, "00:00:5e:00:53:01", "00:00:5e:00:53:02", "10.0.0.1")
	x.Put(Record{EID: eid(t, 9, "00:00:5e:00:53:01"), Site: "nine"})
	tests := []struct {
		iid  uint32
		mac  string
		want string // Site, "" for none
	}{
		{7, "00:00:5e:00:53:01", "00:00:5e:00:53:01"},
		{7, "00-00-5E-00-53-02", "00:00:5e:00:53:02"},
		{7, "00:00:5e:00:53:03", ""},
		{9, "00:00:5e:00:53:01", "nine"},
		{9, "00:00:5e:00:53:02", ""},
		{8, "00:00:5e:00:53:01", ""},
	}
	for _, tc := range tests {
		m, err := ParseMAC(tc.mac)
		if err != nil {
			t.Fatal(err)
		}
		r, ok := x.LookupMAC(tc.iid, m)
		if got := r.Site; got != tc.want || ok != (tc.want != "") {
			t.Errorf("LookupMAC(%d, %s) = %q, %v; want %q", tc.iid, tc.mac, got, ok, tc.want)
		}
		if ok && (r.EID.MAC != m || r.EID.IID != tc.iid || r.EID.Family() != FamilyMAC) {
			t.Errorf("LookupMAC(%d, %s) returned EID %s", tc.iid, tc.mac, r.EID)
		}
	}
}

func TestNegative(t *testing.T) {
	one := []string{"198.51.100.0/24"}
	tests := []struct {
		name string
		eids []string
		iid  uint32
		addr string
		want string // "" when some EID covers addr
	}{
		{"next /24", one, 7, "198.51.101.5", "198.51.101.0/24"},
		{"other half", one, 7, "10.0.0.1", "0.0.0.0/1"},
		{"covered", one, 7, "198.51.100.77", ""},
		{"empty iid v4", one, 8, "198.51.100.77", "0.0.0.0/0"},
		{"empty family v6", one, 7, "2001:db8::1", "::/0"},
		{"v4-mapped", one, 7, "::ffff:198.51.101.5", "198.51.101.0/24"},
		{"adjacent below", []string{"10.0.0.0/24", "10.0.2.0/24"}, 7, "10.0.1.9", "10.0.1.0/24"},
		{"adjacent above", []string{"10.0.0.0/24", "10.0.1.0/24"}, 7, "10.0.2.9", "10.0.2.0/23"},
		{"between hosts", []string{"10.0.0.1", "10.0.0.6"}, 7, "10.0.0.3", "10.0.0.2/31"},
		{"next to host", []string{"10.0.0.1"}, 7, "10.0.0.0", "10.0.0.0/32"},
		{"host covered", []string{"10.0.0.1"}, 7, "10.0.0.1", ""},
		{"inside hole of glue", []string{"10.0.0.0/16", "10.128.0.0/16"}, 7, "10.64.0.1", "10.64.0.0/10"},
		{"hole under a covering prefix", []string{"10.0.0.0/8", "10.1.0.0/16"}, 7, "10.2.0.1", ""},
		{"default covers all", []string{"0.0.0.0/0", "10.0.0.1"}, 7, "192.0.2.1", ""},
		{"v6 sibling", []string{"2001:db8::/32"}, 7, "2001:db9::1", "2001:db9::/32"},
		{"v6 far", []string{"2001:db8::/32"}, 7, "fe80::1", "8000::/1"},
		{"v6 hosts", []string{"2001:db8::1", "2001:db8::4"}, 7, "2001:db8::2", "2001:db8::2/127"},
		{"v6 low bits", []string{"2001:db8::/64", "2001:db8:0:1::/64"}, 7, "2001:db8:0:3::1", "2001:db8:0:2::/63"},
		{"v6 only v4 table", []string{"2001:db8::/32"}, 7, "10.0.0.1", "0.0.0.0/0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			x := fill(t, tc.eids...)
			p, ok := x.Negative(tc.iid, netip.MustParseAddr(tc.addr))
			got := ""
			if ok {
				got = p.String()
			}
			if got != tc.want {
				t.Errorf("Negative(%d, %s) = %q, want %q", tc.iid, tc.addr, got, tc.want)
			}
		})
	}
	if p, ok := NewIndex().Negative(1, netip.Addr{}); ok || p.IsValid() {
		t.Errorf("Negative of an invalid address = %v, %v", p, ok)
	}
}

func TestPutReplaceDelete(t *testing.T) {
	x := NewIndex()
	e := eid(t, 3, "10.0.0.0/24")
	x.Put(Record{EID: e, Version: 1, Site: "a"})
	x.Put(Record{EID: eid(t, 3, "10.0.0.77/24"), Version: 2, Site: "b"}) // same EID once masked
	if n := x.Len(); n != 1 {
		t.Fatalf("Len after replace = %d, want 1", n)
	}
	if r, ok := x.Get(e); !ok || r.Version != 2 || r.Site != "b" {
		t.Fatalf("Get after replace = %+v, %v", r, ok)
	}
	x.Put(Record{EID: eid(t, 4, "00:00:5e:00:53:01"), Version: 3})
	if got := x.IIDs(); !reflect.DeepEqual(got, []uint32{3, 4}) {
		t.Fatalf("IIDs = %v", got)
	}
	steps := []struct {
		eid      EID
		ok       bool
		version  uint64
		wantLen  int
		wantIIDs []uint32
	}{
		{eid(t, 3, "10.0.0.0/25"), false, 0, 2, []uint32{3, 4}},
		{eid(t, 5, "10.0.0.0/24"), false, 0, 2, []uint32{3, 4}},
		{e, true, 2, 1, []uint32{4}},
		{e, false, 0, 1, []uint32{4}},
		{eid(t, 4, "00:00:5e:00:53:02"), false, 0, 1, []uint32{4}},
		{eid(t, 4, "00:00:5e:00:53:01"), true, 3, 0, []uint32{}},
	}
	for i, s := range steps {
		r, ok := x.Delete(s.eid)
		if ok != s.ok || r.Version != s.version || (ok && r.EID != s.eid) {
			t.Errorf("step %d: Delete(%s) = %s v%d, %v", i, s.eid, r.EID, r.Version, ok)
		}
		if _, ok := x.Get(s.eid); ok {
			t.Errorf("step %d: Get(%s) after Delete found a record", i, s.eid)
		}
		if x.Len() != s.wantLen || !reflect.DeepEqual(x.IIDs(), s.wantIIDs) {
			t.Errorf("step %d: Len %d IIDs %v, want %d %v", i, x.Len(), x.IIDs(), s.wantLen, s.wantIIDs)
		}
	}
	if st := x.Stats(); st != (IndexStats{}) {
		t.Errorf("Stats of the emptied index = %+v", st)
	}
}

func TestCanonicalEID(t *testing.T) {
	x := NewIndex()
	mapped := EID{IID: 1, Prefix: netip.MustParsePrefix("::ffff:10.1.2.0/120")}
	x.Put(Record{EID: mapped, Site: "m"})
	want := eid(t, 1, "10.1.2.0/24")
	r, ok := x.Get(want)
	if !ok || r.EID != want {
		t.Fatalf("Get(%s) = %s, %v", want, r.EID, ok)
	}
	if r, ok := x.Get(mapped); !ok || r.Site != "m" {
		t.Fatalf("Get of the mapped form = %v", ok)
	}
	short := EID{IID: 1, Prefix: netip.MustParsePrefix("::ffff:0:0/80")} // not expressible as IPv4
	x.Put(Record{EID: short})
	if _, ok := x.LookupAddr(1, netip.MustParseAddr("::ffff:10.9.9.9")); ok {
		t.Error("a short IPv4-mapped IPv6 prefix covers an IPv4 address")
	}
	if _, ok := x.LookupAddr(1, netip.MustParseAddr("::fffe:1:2")); !ok {
		t.Error("IPv6 lookup under ::ffff:0:0/80 failed")
	}
}

func TestRecordRoundTrip(t *testing.T) {
	zone := time.FixedZone("test", 3600)
	tests := []Record{
		{
			EID: MACEID(1, MAC{0, 0, 0x5e, 0, 0x53, 1}), Locators: locs("192.0.2.1", "2001:db8::1"),
			TTL: 60, Origin: OriginRegistered, Site: "s", XTR: "xtr1", Port: "eth3", Version: 42,
			NoProxy: true, UpdatedAt: time.Date(2025, 3, 1, 12, 0, 0, 123456789, time.UTC),
		},
		{EID: PrefixEID(2, netip.MustParsePrefix("10.0.0.0/8")), UpdatedAt: time.Date(1900, 1, 1, 0, 0, 0, 1, zone)},
		{EID: PrefixEID(2, netip.MustParsePrefix("2001:db8::/32")), Origin: "custom", UpdatedAt: time.Unix(1e9, 5)},
	}
	for _, want := range tests {
		x := NewIndex()
		x.Put(want)
		got, ok := x.Get(want.EID)
		if !ok {
			t.Fatalf("Get(%s) found nothing", want.EID)
		}
		if !got.UpdatedAt.Equal(want.UpdatedAt) || got.UpdatedAt.Location() != want.UpdatedAt.Location() {
			t.Errorf("UpdatedAt = %v, want %v", got.UpdatedAt, want.UpdatedAt)
		}
		got.UpdatedAt = want.UpdatedAt
		if !reflect.DeepEqual(got, want) {
			t.Errorf("round trip:\n got %+v\nwant %+v", got, want)
		}
	}
	x := NewIndex()
	x.Put(Record{EID: MACEID(1, MAC{2})})
	if r, _ := x.Get(MACEID(1, MAC{2})); r.UpdatedAt != (time.Time{}) || r.Locators != nil {
		t.Errorf("zero record came back with %v, %v", r.UpdatedAt, r.Locators)
	}
}
