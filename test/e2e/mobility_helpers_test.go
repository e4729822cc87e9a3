package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/l2lisp/l2lisp/test/lab"
)

var (
	hostctlOnce sync.Once
	hostctlPath string
	hostctlErr  error
)

// hostctl builds the in-namespace helper (test/e2e/internal/hostctl) once.
func hostctl(t *testing.T) string {
	t.Helper()
	hostctlOnce.Do(func() {
		dir, err := os.MkdirTemp("", "l2lisp-e2e-hostctl")
		if err != nil {
			hostctlErr = err
			return
		}
		hostctlPath = filepath.Join(dir, "hostctl")
		out, err := exec.Command("go", "build", "-o", hostctlPath,
			"github.com/l2lisp/l2lisp/test/e2e/internal/hostctl").CombinedOutput()
		if err != nil {
			hostctlErr = fmt.Errorf("go build hostctl: %w: %s", err, out)
		}
	})
	if hostctlErr != nil {
		t.Fatal(hostctlErr)
	}
	return hostctlPath
}

// hostCmd is a command run inside a host's namespace.
func hostCmd(ctx context.Context, h lab.Host, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", h.Netns}, args...)...)
}

// mobRecord is a mapping as the REST API shows it.
type mobRecord struct {
	InstanceID uint32 `json:"instance_id"`
	EID        string `json:"eid"`
	Origin     string `json:"origin"`
	Site       string `json:"site"`
	XTR        string `json:"xtr"`
	Port       string `json:"port"`
	MAC        string `json:"mac"`
	Frozen     bool   `json:"frozen"`
	Version    uint64 `json:"version"`
}

// mobMappings lists the mappings of an instance-id whose EID contains q.
func mobMappings(t *testing.T, e *Env, iid uint32, q string) []mobRecord {
	t.Helper()
	path := fmt.Sprintf("/api/v1/mappings?instance_id=%d&limit=1000&q=%s", iid, url.QueryEscape(q))
	status, body := e.Do("GET", path, nil)
	if status != 200 {
		t.Fatalf("GET %s: %d %s", path, status, body)
	}
	var page struct {
		Items []mobRecord `json:"items"`
	}
	if err := json.Unmarshal(body, &page); err != nil {
		t.Fatal(err)
	}
	return page.Items
}

// mobGet returns the mapping of one EID, if any.
func mobGet(t *testing.T, e *Env, iid uint32, eid string) (mobRecord, bool) {
	t.Helper()
	for _, r := range mobMappings(t, e, iid, eid) {
		if r.EID == eid {
			return r, true
		}
	}
	return mobRecord{}, false
}

// mobWait polls until the EID's mapping satisfies ok (nil record: absent),
// failing after a generous deadline.
func mobWait(t *testing.T, e *Env, iid uint32, eid string, what string, ok func(*mobRecord) bool) mobRecord {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		r, found := mobGet(t, e, iid, eid)
		var p *mobRecord
		if found {
			p = &r
		}
		if ok(p) {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s %s: want %s; have %+v (found %v)\nlog tail:\n%s", eid, "in time", what, r, found, tail(e.Log(), 40))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// mobEvent is a change-feed event.
type mobEvent struct {
	ID   int64           `json:"id"`
	Time time.Time       `json:"time"`
	Type string          `json:"type"`
	EID  string          `json:"eid"`
	Site string          `json:"site"`
	XTR  string          `json:"xtr"`
	Data json.RawMessage `json:"data"`
}

// mobHistory reads GET /mappings/history of one EID.
func mobHistory(t *testing.T, e *Env, iid uint32, eid string) []mobEvent {
	t.Helper()
	path := fmt.Sprintf("/api/v1/mappings/history?instance_id=%d&eid=%s", iid, url.QueryEscape(eid))
	status, body := e.Do("GET", path, nil)
	if status != 200 {
		t.Fatalf("GET %s: %d %s", path, status, body)
	}
	var evs []mobEvent
	if err := json.Unmarshal(body, &evs); err != nil {
		t.Fatal(err)
	}
	return evs
}

// mobWaitEvent reads the event stream from the start until an event of
// type typ passes match, or a generous deadline.
func mobWaitEvent(t *testing.T, e *Env, typ string, match func(mobEvent) bool) mobEvent {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", e.API+"/api/v1/events?since=0", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := e.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line, ok := strings.CutPrefix(sc.Text(), "data:")
		if !ok {
			continue
		}
		var ev mobEvent
		if json.Unmarshal([]byte(strings.TrimSpace(line)), &ev) == nil && ev.Type == typ && (match == nil || match(ev)) {
			return ev
		}
	}
	t.Fatalf("no %s event in time (%v)", typ, sc.Err())
	return mobEvent{}
}

// mobMove moves a host's access port to datacenter to the way an
// orchestrator would: re-attach the veth, bind the port at the new xTR,
// unbind it at the old one, and wait until the new switch classifies it.
func mobMove(t *testing.T, e *Env, h *lab.Host, to int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	from := e.Topo.DC(h.DC)
	dst := e.Topo.DC(to)
	if err := lab.MoveHost(ctx, h, *dst); err != nil {
		t.Fatal(err)
	}
	status, body := e.Do("POST", "/api/v1/xtrs/"+dst.XTR+"/ports", map[string]any{"name": h.Port, "instance_id": h.InstanceID})
	if status != 201 {
		t.Fatalf("bind %s at %s: %d %s", h.Port, dst.XTR, status, body)
	}
	var p struct {
		OFPort uint32 `json:"ofport"`
	}
	_ = json.Unmarshal(body, &p)
	if status, body := e.Do("DELETE", "/api/v1/xtrs/"+from.XTR+"/ports/"+h.Port, nil); status != 204 {
		t.Fatalf("unbind %s at %s: %d %s", h.Port, from.XTR, status, body)
	}
	mobWaitFlow(t, dst, fmt.Sprintf("table=0,in_port=%d", p.OFPort), "goto_table:10")
	mobWaitFlow(t, dst, fmt.Sprintf("table=40,in_port=%d", p.OFPort), "actions=meter:")
}

// mobWaitFlow waits until dump-flows of filter on the DC's bridge shows want.
func mobWaitFlow(t *testing.T, d *lab.DC, filter, want string) string {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		out, err := d.OVS.Ofctl("dump-flows", "br-int", filter)
		if err == nil && strings.Contains(out, want) {
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: no flow %q with %q: %v\n%s", d.Name, filter, want, err, out)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// mobGARP sends gratuitous ARP from a host: its own MAC unless mac is set.
func mobGARP(t *testing.T, h lab.Host, mac, ip string) {
	t.Helper()
	args := []string{hostctl(t), "garp", "-ip", ip}
	if mac != "" {
		args = append(args, "-mac", mac)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if out, err := hostCmd(ctx, h, args...).CombinedOutput(); err != nil {
		t.Fatalf("garp from %s: %v: %s", h.Name, err, out)
	}
}

// syncBuf is an output buffer safe to read while a command writes to it.
type syncBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
