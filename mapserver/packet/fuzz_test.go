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
			b := mustMarshal(sampleMessages()[n])
			body := fmt.Sprintf("go test fuzz v1\n[]byte(%s)\n", strconv.Quote(string(b)))
			if err := os.WriteFile(filepath.Join(dir, n), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}
