package mapping

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"testing"
	"time"
)

// encodingJSON is how MarshalJSON wrote a record before AppendJSON: the
// reference AppendJSON must match byte for byte.
func encodingJSON(t testing.TB, r Record) []byte {
	locs := r.Locators
	if locs == nil {
		locs = []Locator{}
	}
	var mac string
	if r.HasMAC() {
		mac = r.MAC.String()
	}
	b, err := json.Marshal(recordJSON{
		InstanceID: r.EID.IID, EID: r.EID.Address(), Family: r.EID.Family().String(),
		RLOCs: locs, TTL: r.TTL, Origin: r.Origin, Site: r.Site, XTR: r.XTR, Port: r.Port,
		NoProxy: r.NoProxy, MAC: mac, Frozen: r.Frozen, Version: r.Version, UpdatedAt: r.UpdatedAt,
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func jsonRecords() []Record {
	mac, _ := ParseMAC("02:00:5e:10:00:01")
	loc := func(a string, up bool) Locator {
		return Locator{Addr: netip.MustParseAddr(a), Priority: 1, Weight: 100, Up: up}
	}
	return []Record{
		{EID: PrefixEID(1000, netip.MustParsePrefix("10.1.2.3/32"))},
		{EID: PrefixEID(4294967295, netip.MustParsePrefix("2001:db8::/48")), Locators: []Locator{loc("192.0.2.1", true), loc("2001:db8::1", false)},
			TTL: 1440, Origin: OriginRegistered, Site: "dc1", XTR: "192.0.2.9", Version: 18446744073709551615,
			UpdatedAt: time.Date(2026, 12, 1, 10, 0, 0, 123456789, time.UTC)},
		{EID: MACEID(7, mac), Locators: []Locator{}, Origin: OriginLearned, Site: `a "quoted" <site> & \ back`,
			Port: "vm\x01tap", NoProxy: true, Frozen: true, UpdatedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("", -5*3600))},
		{EID: PrefixEID(3, netip.MustParsePrefix("10.0.0.1/32")), MAC: mac, Site: "sité\u2028", XTR: "\xff\xfe",
			Locators: []Locator{{}}},
	}
}

// TestAppendJSONMatchesEncodingJSON: the hand-written encoder writes what
// encoding/json wrote, and the result reads back as the same record.
func TestAppendJSONMatchesEncodingJSON(t *testing.T) {
	for i, r := range jsonRecords() {
		got, err := r.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		if want := encodingJSON(t, r); !bytes.Equal(got, want) {
			t.Errorf("record %d:\n got %s\nwant %s", i, got, want)
		}
		want, _ := json.Marshal(r.Locators)
		if got := AppendLocatorsJSON(nil, r.Locators); !bytes.Equal(got, want) {
			t.Errorf("record %d locators:\n got %s\nwant %s", i, got, want)
		}
	}
}

// FuzzAppendJSON holds AppendJSON to encoding/json for any strings and
// numbers.
func FuzzAppendJSON(f *testing.F) {
	f.Add(uint32(1000), "dc1", "192.0.2.1", "tap0", uint32(60), uint64(3), int64(1764583200123456789), true, byte(1), byte(100))
	f.Add(uint32(0), "\x00<&>\"\\", "\xff", "\u2028", uint32(0), uint64(0), int64(0), false, byte(0), byte(0))
	f.Fuzz(func(t *testing.T, iid uint32, site, xtr, port string, ttl uint32, version uint64, nanos int64, up bool, prio, weight byte) {
		r := Record{EID: PrefixEID(iid, netip.MustParsePrefix("198.51.100.7/32")), Site: site, XTR: xtr, Port: port, TTL: ttl,
			Version: version, UpdatedAt: time.Unix(0, nanos).UTC(), NoProxy: up, Origin: Origin(site),
			Locators: []Locator{{Addr: netip.MustParseAddr("203.0.113.1"), Priority: prio, Weight: weight, Up: up}}}
		got, err := r.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		if want := encodingJSON(t, r); !bytes.Equal(got, want) {
			t.Errorf("\n got %s\nwant %s", got, want)
		}
		// The change form reads back as the full form does.
		var viaFull Record
		if viaFull.UnmarshalJSON(got) != nil {
			return
		}
		want, _ := viaFull.MarshalJSON()
		back, err := DecodeChange(r.AppendChangeJSON(nil), iid, r.EID.Address(), viaFull.Site, viaFull.XTR)
		if err != nil {
			t.Fatal(err)
		}
		if again, _ := back.MarshalJSON(); !bytes.Equal(again, want) {
			t.Errorf("from change data:\n got %s\nwant %s", again, want)
		}
	})
}

// TestChangeJSON: a mapping event's data holds the record less the
// columns of its row, and DecodeChange puts it back together from both;
// the full form of rows written before reads back the same, whatever
// the columns say.
func TestChangeJSON(t *testing.T) {
	for i, r := range jsonRecords() {
		// The change form must read back as the full form does; some
		// records of jsonRecords do not survive even that (an instance-id
		// out of range, bytes that are not UTF-8).
		full, _ := r.MarshalJSON()
		var viaFull Record
		if viaFull.UnmarshalJSON(full) != nil {
			continue
		}
		full, _ = viaFull.MarshalJSON()
		data := r.AppendChangeJSON(nil)
		var members map[string]json.RawMessage
		if err := json.Unmarshal(data, &members); err != nil {
			t.Fatalf("record %d: %s: %v", i, data, err)
		}
		for _, k := range []string{"instance_id", "eid", "family", "site", "xtr"} {
			if _, ok := members[k]; ok {
				t.Errorf("record %d: change data %s holds %q, a column of the event row", i, data, k)
			}
		}
		// The columns as the database holds them: names are checked
		// before they are stored, so the JSON form's replacement of bytes
		// that are not UTF-8 never differs from them.
		got, err := DecodeChange(data, r.EID.IID, r.EID.Address(), viaFull.Site, viaFull.XTR)
		if err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		if again, _ := got.MarshalJSON(); !bytes.Equal(again, full) {
			t.Errorf("record %d from change data and columns:\n got %s\nwant %s", i, again, full)
		}
		old, err := DecodeChange(full, 99, "192.0.2.200/32", "elsewhere", "")
		if err != nil {
			t.Fatalf("record %d full form: %v", i, err)
		}
		if again, _ := old.MarshalJSON(); !bytes.Equal(again, full) {
			t.Errorf("record %d from the full form:\n got %s\nwant %s", i, again, full)
		}
	}
	if _, err := DecodeChange([]byte(`{"rlocs":[]}`), 1, "not an eid", "dc1", ""); err == nil {
		t.Error("DecodeChange took an unparseable EID column")
	}
	if _, err := DecodeChange([]byte(`{"rlocs":`), 1, "10.0.0.1/32", "dc1", ""); err == nil {
		t.Error("DecodeChange took truncated data")
	}
}
