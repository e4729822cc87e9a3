// Command testreport reads the JSON stream of `go test -json`, prints every
// test's output as `go test -v` would, and then lists every skipped test
// with its reason. It exits non-zero when a test or package failed, or when
// a test skipped that the allow-list does not name: in CI a skip is a test
// that did not run, and that must be a decision, not an accident.
//
//	go test -json ./... | go run ./test/ci/testreport -allow test/ci/skips.allow
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// event is one line of test2json output.
type event struct {
	Action  string
	Package string
	Test    string
	Output  string
	Elapsed float64
}

type key struct{ pkg, test string }

// report is what the stream said.
type report struct {
	skipped map[key]string // reason: the test's last output line before the skip
	failed  []key
	last    map[key]string
	passed  int
}

func main() {
	allowPath := flag.String("allow", "", "file naming the tests allowed to skip: one 'package TestName' per line, # comments")
	flag.Parse()
	allow, err := readAllow(*allowPath)
	if err != nil {
		fmt.Fprintln(os.Stderr, "testreport:", err)
		os.Exit(2)
	}
	r, err := read(os.Stdin, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "testreport:", err)
		os.Exit(2)
	}
	if !r.summary(os.Stdout, allow) {
		os.Exit(1)
	}
}

func readAllow(path string) (map[key]bool, error) {
	allow := map[key]bool{}
	if path == "" {
		return allow, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("allow-list: %w", err)
	}
	for i, line := range strings.Split(string(b), "\n") {
		line, _, _ = strings.Cut(line, "#")
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if len(f) != 2 {
			return nil, fmt.Errorf("allow-list line %d: want 'package TestName'", i+1)
		}
		allow[key{f[0], f[1]}] = true
	}
	return allow, nil
}

// read copies the tests' output to w and collects the outcome.
func read(in io.Reader, w io.Writer) (*report, error) {
	r := &report{skipped: map[key]string{}, last: map[key]string{}}
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var ev event
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			fmt.Fprintln(w, sc.Text()) // build errors and other plain lines
			continue
		}
		k := key{ev.Package, ev.Test}
		switch ev.Action {
		case "output":
			fmt.Fprint(w, ev.Output)
			if s := strings.TrimSpace(ev.Output); s != "" && !strings.HasPrefix(s, "---") && !strings.HasPrefix(s, "===") {
				r.last[k] = s
			}
		case "skip":
			if ev.Test != "" {
				r.skipped[k] = r.last[k]
			}
		case "fail":
			r.failed = append(r.failed, k)
		case "pass":
			if ev.Test != "" {
				r.passed++
			}
		}
	}
	return r, sc.Err()
}

// summary prints the skips and failures and says whether CI may pass.
func (r *report) summary(w io.Writer, allow map[key]bool) bool {
	ok := len(r.failed) == 0
	keys := make([]key, 0, len(r.skipped))
	for k := range r.skipped {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		return keys[i].pkg+" "+keys[i].test < keys[j].pkg+" "+keys[j].test
	})
	fmt.Fprintf(w, "\n== %d tests passed, %d skipped, %d failed\n", r.passed, len(keys), len(r.failed))
	for _, k := range keys {
		verdict := "allowed"
		if !allow[k] && !allow[key{k.pkg, topLevel(k.test)}] {
			verdict, ok = "NOT ALLOWED", false
		}
		fmt.Fprintf(w, "SKIP %s %s (%s): %s\n", k.pkg, k.test, verdict, r.skipped[k])
	}
	for _, k := range r.failed {
		fmt.Fprintf(w, "FAIL %s %s\n", k.pkg, k.test)
	}
	return ok
}

// topLevel is the top-level test of a subtest name.
func topLevel(name string) string {
	top, _, _ := strings.Cut(name, "/")
	return top
}
