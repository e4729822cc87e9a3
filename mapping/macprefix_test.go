package mapping

import (
	"encoding/json"
	"testing"
)

func TestParseMACPrefix(t *testing.T) {
	cases := []struct {
		in, want string
		ok       bool
	}{
		{"02:00:10:00:00:00/24", "02:00:10:00:00:00/24", true},
		{"02:00:10:ab:cd:ef/24", "02:00:10:00:00:00/24", true}, // masked
		{"02-00-10-00-00-01", "02:00:10:00:00:01/48", true},
		{" 02:00:00:00:00:00/7 ", "02:00:00:00:00:00/7", true},
		{"02:00:10:00:00:00/0", "", false},
		{"02:00:10:00:00:00/49", "", false},
		{"02:00:10:00:00:00/x", "", false},
		{"not-a-mac/24", "", false},
		{"01:00:5e:00:00:00/24", "", false}, // group addresses only
		{"00:00:00:00:00:00/7", "00:00:00:00:00:00/7", true},
	}
	for _, c := range cases {
		p, err := ParseMACPrefix(c.in)
		if (err == nil) != c.ok {
			t.Fatalf("%q: err %v, want ok=%v", c.in, err, c.ok)
		}
		if c.ok && p.String() != c.want {
			t.Errorf("%q: %s, want %s", c.in, p, c.want)
		}
	}
}

func TestMACPrefixContains(t *testing.T) {
	mac := func(s string) MAC { m, _ := ParseMAC(s); return m }
	oui, _ := ParseMACPrefix("02:00:10:00:00:00/24")
	odd, _ := ParseMACPrefix("02:00:10:80:00:00/25")
	host, _ := ParseMACPrefix("02:00:00:00:00:01")
	cases := []struct {
		p    MACPrefix
		m    string
		want bool
	}{
		{oui, "02:00:10:00:00:01", true},
		{oui, "02:00:10:ff:ff:ff", true},
		{oui, "02:00:11:00:00:00", false},
		{oui, "02:00:00:00:00:01", false},
		{odd, "02:00:10:80:00:00", true},
		{odd, "02:00:10:ff:00:00", true},
		{odd, "02:00:10:7f:ff:ff", false},
		{host, "02:00:00:00:00:01", true},
		{host, "02:00:00:00:00:02", false},
		{MACPrefix{}, "02:00:00:00:00:01", false}, // the zero value holds nothing
	}
	for _, c := range cases {
		if got := c.p.Contains(mac(c.m)); got != c.want {
			t.Errorf("%s contains %s: %v, want %v", c.p, c.m, got, c.want)
		}
	}
}

func TestMACPrefixJSON(t *testing.T) {
	in := []MACPrefix{}
	for _, s := range []string{"02:00:10:00:00:00/24", "0a:00:00:00:00:00/8"} {
		p, err := ParseMACPrefix(s)
		if err != nil {
			t.Fatal(err)
		}
		in = append(in, p)
	}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `["02:00:10:00:00:00/24","0a:00:00:00:00:00/8"]` {
		t.Fatalf("json %s", b)
	}
	var out []MACPrefix
	if err := json.Unmarshal(b, &out); err != nil || len(out) != 2 || out[0] != in[0] || out[1] != in[1] {
		t.Fatalf("round trip %v %v", out, err)
	}
	if err := json.Unmarshal([]byte(`["02:00:10:00:00:00/99"]`), &out); err == nil {
		t.Fatal("a bad length decoded")
	}
}
