package main

import (
	"bytes"
	"strings"
	"testing"
)

const stream = `{"Action":"run","Package":"p","Test":"TestA"}
{"Action":"output","Package":"p","Test":"TestA","Output":"=== RUN   TestA\n"}
{"Action":"pass","Package":"p","Test":"TestA"}
{"Action":"output","Package":"p","Test":"TestB","Output":"    b_test.go:9: tshark not installed\n"}
{"Action":"output","Package":"p","Test":"TestB","Output":"--- SKIP: TestB (0.00s)\n"}
{"Action":"skip","Package":"p","Test":"TestB"}
{"Action":"output","Package":"q","Test":"TestC/sub","Output":"    c_test.go:3: needs root\n"}
{"Action":"skip","Package":"q","Test":"TestC/sub"}
{"Action":"skip","Package":"r"}
# github.com/x/y [build failed]
`

func TestSkipsMustBeAllowed(t *testing.T) {
	var out bytes.Buffer
	r, err := read(strings.NewReader(stream), &out)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "=== RUN   TestA") || !strings.Contains(out.String(), "[build failed]") {
		t.Errorf("output not passed through: %q", out.String())
	}
	var sum bytes.Buffer
	if r.summary(&sum, map[key]bool{}) {
		t.Error("unlisted skips passed")
	}
	for _, want := range []string{"SKIP p TestB (NOT ALLOWED): b_test.go:9: tshark not installed", "SKIP q TestC/sub (NOT ALLOWED)",
		"1 tests passed, 2 skipped, 0 failed"} {
		if !strings.Contains(sum.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, sum.String())
		}
	}
	if !r.summary(&sum, map[key]bool{{"p", "TestB"}: true, {"q", "TestC"}: true}) {
		t.Errorf("allowed skips failed:\n%s", sum.String())
	}
	r.failed = append(r.failed, key{"p", "TestD"})
	if r.summary(&sum, map[key]bool{{"p", "TestB"}: true, {"q", "TestC"}: true}) {
		t.Error("a failure passed")
	}
}
