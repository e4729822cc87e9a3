package packet

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"testing"
)

// addSeeds adds every sample encoding (and a few truncations) to f.
func addSeeds(f *testing.F) {
	for _, m := range sampleMessages() {
		b := mustMarshal(m)
		f.Add(b)
		f.Add(b[:len(b)/2])
	}
}

// checkIdempotent re-encodes a decoded message and checks that decoding and
// encoding again is stable. Anything that decodes must also encode.
func checkIdempotent(t *testing.T, m Message) {
	b1, err := m.Append(nil)
	if err != nil {
		t.Fatalf("decoded message does not encode: %v", err)
	}
	m2, err := Decode(b1)
	if err != nil {
		t.Fatalf("re-decode: %v", err)
	}
	b2, err := m2.Append(nil)
	if err != nil {
		t.Fatalf("re-encode: %v", err)
	}
	if !bytes.Equal(b1, b2) {
		t.Fatalf("encoding not stable:\n%x\n%x", b1, b2)
	}
}

func FuzzDecode(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Decode(data)
		_ = Verify(data, testKey) // must not panic on any input
		if err != nil {
			return
		}
		checkIdempotent(t, m)
	})
}

// fuzzReuse decodes data into a message that already holds another
// decoded sample and checks the result matches a fresh decode, which
// exercises the slice-reuse paths.
func fuzzReuse(t *testing.T, dirty, fresh decoder, prev, data []byte) {
	if err := dirty.Decode(prev); err != nil {
		t.Fatalf("seed decode: %v", err)
	}
	errDirty, errFresh := dirty.Decode(data), fresh.Decode(data)
	if (errDirty == nil) != (errFresh == nil) {
		t.Fatalf("reuse changed the outcome: %v vs %v", errDirty, errFresh)
	}
	if errFresh != nil {
		return
	}
	a, err1 := dirty.Append(nil)
	b, err2 := fresh.Append(nil)
	if err1 != nil || err2 != nil || !bytes.Equal(a, b) {
		t.Fatalf("reused decode differs: %v %v\n%x\n%x", err1, err2, a, b)
	}
	checkIdempotent(t, fresh)
}

func FuzzMapRequest(f *testing.F) {
	addSeeds(f)
	prev := mustMarshal(sampleMapRequest(eid6))
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzReuse(t, new(MapRequest), new(MapRequest), prev, data)
	})
}

func FuzzMapReply(f *testing.F) {
	addSeeds(f)
	prev := mustMarshal(&MapReply{Records: []Record{sampleRecord(eid4), sampleRecord(eid6), sampleRecord(eidMAC)}})
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzReuse(t, new(MapReply), new(MapReply), prev, data)
	})
}

func FuzzMapRegister(f *testing.F) {
	addSeeds(f)
	prev := mustMarshal(sampleMapRegister(AuthHMACSHA256, eid4, eid6, eidMAC))
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzReuse(t, new(MapRegister), new(MapRegister), prev, data)
	})
}

func FuzzMapNotify(f *testing.F) {
	addSeeds(f)
	prev := mustMarshal(sampleMapNotify(true, eidMAC))
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzReuse(t, new(MapNotify), new(MapNotify), prev, data)
	})
}

func FuzzECM(f *testing.F) {
	addSeeds(f)
	prev := mustMarshal(sampleECM(sampleMapRequest(eid6), true))
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzReuse(t, new(ECM), new(ECM), prev, data)
	})
}

// addDataPlaneSeeds adds every encapsulated sample frame (and its bare
// header) to f.
func addDataPlaneSeeds(f *testing.F) {
	for _, s := range dataPlaneSamples() {
		f.Add(s.payload)
		f.Add(s.payload[:GPEHeaderLen])
	}
}

// FuzzGPE checks that any header that decodes re-encodes to a header that
// decodes the same, and that the encoding is then stable.
func FuzzGPE(f *testing.F) {
	addDataPlaneSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		var h, h2 GPEHeader
		if h.Decode(data) != nil {
			return
		}
		b, err := h.Append(nil)
		if err != nil {
			t.Fatalf("decoded header %+v does not encode: %v", h, err)
		}
		if err := h2.Decode(b); err != nil || h2 != h {
			t.Fatalf("re-decode %+v %v, want %+v", h2, err, h)
		}
		if b2, _ := h2.Append(nil); !bytes.Equal(b, b2) {
			t.Fatalf("encoding not stable: %x %x", b, b2)
		}
	})
}

func FuzzVXLAN(f *testing.F) {
	addDataPlaneSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		var h, h2 VXLANHeader
		if h.Decode(data) != nil {
			return
		}
		b, err := h.Append(nil)
		if err != nil || h2.Decode(b) != nil || h2 != h || be32(b[4:])>>8 != be32(data[4:])>>8 {
			t.Fatalf("vxlan %x: re-encoded %x %v as %+v", data[:VXLANHeaderLen], b, err, h2)
		}
	})
}

// FuzzOverlay checks DecodeOverlay against AppendOverlay: whatever decodes
// re-encodes to a payload that decodes to the same encapsulation,
// instance-id and frame.
func FuzzOverlay(f *testing.F) {
	for _, s := range dataPlaneSamples() {
		f.Add(s.port, s.payload)
		f.Add(uint16(0), s.payload)
		f.Add(s.port, s.payload[:GPEHeaderLen+ethHeaderLen-1])
	}
	f.Fuzz(func(t *testing.T, port uint16, data []byte) {
		o, err := DecodeOverlay(port, data)
		if err != nil {
			return
		}
		b, err := AppendOverlay(nil, &o)
		if err != nil {
			t.Fatalf("decoded overlay %+v does not encode: %v", o, err)
		}
		o2, err := DecodeOverlay(port, b)
		if err != nil || o2.Encap != o.Encap || o2.IID != o.IID || !bytes.Equal(o2.Frame, o.Frame) {
			t.Fatalf("re-decode %+v %v, want %+v", o2, err, o)
		}
	})
}

// TestWriteFuzzCorpus regenerates testdata/fuzz/<Target>/ seed files from
// the samples when LISP_WRITE_CORPUS=1; normally it is skipped and the
// committed files are used by "go test" and "go test -fuzz".
func TestWriteFuzzCorpus(t *testing.T) {
	if os.Getenv("LISP_WRITE_CORPUS") == "" {
		t.Skip("set LISP_WRITE_CORPUS=1 to regenerate the seed corpus")
	}
	names := make([]string, 0)
	for n := range sampleMessages() {
		names = append(names, n)
	}
	sort.Strings(names)
	targets := []string{"FuzzDecode", "FuzzMapRequest", "FuzzMapReply", "FuzzMapRegister", "FuzzMapNotify", "FuzzECM"}
	for _, target := range targets {
		dir := filepath.Join("testdata", "fuzz", target)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, n := range names {
			writeSeed(t, dir, n, mustMarshal(sampleMessages()[n]))
		}
	}
	for _, target := range []string{"FuzzGPE", "FuzzVXLAN", "FuzzOverlay"} {
		dir := filepath.Join("testdata", "fuzz", target)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for n, s := range dataPlaneSamples() {
			if target == "FuzzOverlay" {
				writeSeed(t, dir, n, s.port, s.payload)
			} else {
				writeSeed(t, dir, n, s.payload)
			}
		}
	}
}

// writeSeed writes one corpus file in the "go test fuzz v1" format, one
// line per fuzz argument ([]byte or uint16).
func writeSeed(t *testing.T, dir, name string, args ...any) {
	body := "go test fuzz v1\n"
	for _, a := range args {
		switch v := a.(type) {
		case uint16:
			body += fmt.Sprintf("uint16(%d)\n", v)
		case []byte:
			body += fmt.Sprintf("[]byte(%s)\n", strconv.Quote(string(v)))
		}
	}
	if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}
