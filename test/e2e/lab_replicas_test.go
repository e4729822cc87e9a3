package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/l2lisp/l2lisp/pki"
	"github.com/l2lisp/l2lisp/store/storetest"
	"github.com/l2lisp/l2lisp/test/lab"
)

// TestLabReplicas drives the CLI as an operator would: l2lisp lab up
// -replicas 2 on PostgreSQL starts two serve replicas of its own, elects
// a leader, registers a two-datacenter lab through it; every switch
// connects to both, hosts in the two datacenters reach each other, and
// l2lisp lab down leaves no serve process.
func TestLabReplicas(t *testing.T) {
	needLab(t)
	if os.Getenv(storetest.Env) == "" {
		t.Skipf("needs PostgreSQL (%s)", storetest.Env)
	}
	// A database of its own, dropped at the end: the others' stay untouched.
	dsn := storetest.Postgres(t)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	release, err := lab.Lock(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(release)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	t.Cleanup(func() {
		// After a failure: the lab and its replicas go, whatever lab down did.
		dctx, dcancel := context.WithTimeout(context.Background(), time.Minute)
		defer dcancel()
		if err := lab.Down(dctx, lab.Config{Log: quiet}); err != nil {
			t.Logf("lab down: %v", err)
		}
	})

	out := runLab(t, ctx, "up", "-dcs", "2", "-replicas", "2", "-db", dsn, "-register")
	t.Logf("lab up printed:\n%s", out)
	topo, err := lab.Load("")
	if err != nil {
		t.Fatal(err)
	}
	if len(topo.Replicas) != 2 || len(topo.DCs) != 2 {
		t.Fatalf("topology has %d replicas and %d DCs, want 2 and 2", len(topo.Replicas), len(topo.DCs))
	}
	for _, r := range topo.Replicas {
		if !strings.Contains(out, r.API) || !strings.Contains(out, r.Log) {
			t.Errorf("lab up did not print replica %s (%s, %s)", r.ID, r.API, r.Log)
		}
	}
	api := newLabAPI(t, topo)
	checkSecretKept(t, topo, api.token, out)
	leader := checkOneLeader(t, api, topo)
	checkSwitchesConnected(t, api, leader, topo)
	checkPingAcross(t, ctx, topo)
	if st := runLab(t, ctx, "status"); !strings.Contains(st, "replica r2") || strings.Contains(st, "DOWN") {
		t.Errorf("lab status:\n%s", st)
	}

	// As after a killed run: one replica's pid file is lost.
	_ = os.Remove(topo.Replicas[0].PidFile)
	t.Logf("lab down printed:\n%s", runLab(t, ctx, "down"))
	if pids := lab.StrayServe(""); len(pids) != 0 {
		t.Errorf("serve processes left after lab down: %v", pids)
	}
	for _, r := range topo.Replicas {
		if _, err := api.get(r.API + "/healthz"); err == nil {
			t.Errorf("replica %s still answers at %s after lab down", r.ID, r.API)
		}
	}
}

// TestLabOneReplicaSQLite: one replica needs no PostgreSQL; it runs on a
// SQLite file in the run dir, and lab down stops it.
func TestLabOneReplicaSQLite(t *testing.T) {
	needLab(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	release, err := lab.Lock(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(release)
	t.Cleanup(func() { _ = lab.Down(context.Background(), lab.Config{Log: slog.New(slog.DiscardHandler)}) })

	out := runLab(t, ctx, "up", "-dcs", "1", "-hosts", "1", "-replicas", "1", "-register")
	topo, err := lab.Load("")
	if err != nil {
		t.Fatal(err)
	}
	r := topo.Replicas[0]
	if !strings.Contains(out, r.API) {
		t.Errorf("lab up did not print %s:\n%s", r.API, out)
	}
	api := newLabAPI(t, topo)
	b, err := api.get(r.API + "/api/v1/cluster")
	t.Logf("GET %s/api/v1/cluster: %s %v", r.API, b, err)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(topo.RunDir, "l2lisp.db")); err != nil {
		t.Errorf("no SQLite database in the run dir: %v", err)
	}
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(200 * time.Millisecond) {
		b, _ := api.get(r.API + "/api/v1/xtrs")
		if strings.Contains(string(b), `"openflow":{"connected":true`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("dc1-edge never connected: %s", b)
		}
	}
	runLab(t, ctx, "down")
	if pids := lab.StrayServe(""); len(pids) != 0 {
		t.Errorf("serve processes left after lab down: %v", pids)
	}
}

// runLab runs l2lisp lab ARGS under the lab lock this test holds.
func runLab(t *testing.T, ctx context.Context, args ...string) string {
	t.Helper()
	cmd := exec.CommandContext(ctx, binary(t), append([]string{"lab"}, args...)...)
	if err := lab.ShareLock(cmd); err != nil {
		t.Fatal(err)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("l2lisp lab %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// labAPI calls the lab's replicas as the admin, trusting only the lab's CA.
type labAPI struct {
	token string
	http  *http.Client
}

func newLabAPI(t *testing.T, topo *lab.Topology) *labAPI {
	t.Helper()
	b, err := os.ReadFile(topo.TokenFile)
	if err != nil {
		t.Fatal(err)
	}
	tc, err := pki.ClientTrusting(filepath.Join(topo.PKIDir, pki.CAFile))
	if err != nil {
		t.Fatal(err)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = tc
	return &labAPI{token: strings.TrimSpace(string(b)), http: &http.Client{Transport: tr, Timeout: 5 * time.Second}}
}

func (a *labAPI) get(url string) ([]byte, error) {
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Authorization", "Bearer "+a.token)
	resp, err := a.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return b, fmt.Errorf("GET %s: HTTP %d %s", url, resp.StatusCode, b)
	}
	return b, nil
}

// checkSecretKept: the token file is the owner's alone, and the token is
// in neither what lab up printed nor a replica's log.
func checkSecretKept(t *testing.T, topo *lab.Topology, token, out string) {
	t.Helper()
	if st, err := os.Stat(topo.TokenFile); err != nil || st.Mode().Perm() != fs.FileMode(0o600) {
		t.Errorf("token file %s: %v, want mode 0600", topo.TokenFile, err)
	}
	if len(token) < 32 || strings.Contains(out, token) {
		t.Errorf("admin token of %d chars, printed by lab up: %v", len(token), strings.Contains(out, token))
	}
	for _, r := range topo.Replicas {
		if b, _ := os.ReadFile(r.Log); strings.Contains(string(b), token) {
			t.Errorf("the admin token is in %s", r.Log)
		}
	}
}

// checkOneLeader: every replica lists both, and they agree on one leader.
func checkOneLeader(t *testing.T, api *labAPI, topo *lab.Topology) lab.Replica {
	t.Helper()
	var leader lab.Replica
	for _, r := range topo.Replicas {
		b, err := api.get(r.API + "/api/v1/cluster")
		if err != nil {
			t.Fatalf("replica %s: %v", r.ID, err)
		}
		var v lab.ClusterView
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatal(err)
		}
		leaders := 0
		for _, x := range v.Replicas {
			if x.Role == "leader" {
				leaders++
			}
		}
		t.Logf("GET %s/api/v1/cluster: self %s, leader %s, %d replicas listed, %d leader(s)",
			r.API, v.Self, v.Leader, len(v.Replicas), leaders)
		if v.Self != r.ID || len(v.Replicas) != 2 || leaders != 1 || v.Leader == "" {
			t.Errorf("replica %s sees %s", r.ID, b)
		}
		if v.Leader == r.ID {
			leader = r
		}
	}
	if leader.ID == "" {
		t.Fatal("no replica says it leads")
	}
	return leader
}

// checkSwitchesConnected waits until the leader has every xTR connected
// as MASTER and each OVS holds both replicas' connections, one master.
func checkSwitchesConnected(t *testing.T, api *labAPI, leader lab.Replica, topo *lab.Topology) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		problem := switchProblem(api, leader, topo)
		if problem == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("switches not connected in a minute: %s", problem)
		}
		time.Sleep(200 * time.Millisecond)
	}
	for _, dc := range topo.DCs {
		roles, _ := ovsRoles(dc.OVS)
		t.Logf("OVS of %s: connected controllers by OpenFlow port %v", dc.Name, roles)
	}
}

func switchProblem(api *labAPI, leader lab.Replica, topo *lab.Topology) string {
	b, err := api.get(leader.API + "/api/v1/xtrs")
	if err != nil {
		return err.Error()
	}
	var xs []xtrStatus
	if err := json.Unmarshal(b, &xs); err != nil {
		return err.Error()
	}
	if len(xs) != len(topo.DCs) {
		return fmt.Sprintf("%d xTRs registered, want %d", len(xs), len(topo.DCs))
	}
	for _, x := range xs {
		if of := x.Status.OpenFlow; !of.Connected || of.Role != "master" {
			return fmt.Sprintf("leader: %s connected %v as %q", x.Name, of.Connected, of.Role)
		}
	}
	for _, dc := range topo.DCs {
		roles, err := ovsRoles(dc.OVS)
		if err != nil {
			return err.Error()
		}
		masters := 0
		for _, role := range roles {
			if role == "master" {
				masters++
			}
		}
		if len(roles) != len(topo.Replicas) || masters != 1 {
			return fmt.Sprintf("OVS of %s: connected controllers %v, want %d with one master", dc.Name, roles, len(topo.Replicas))
		}
	}
	return ""
}

// checkPingAcross pings from a dc1 host to its network's dc2 host.
func checkPingAcross(t *testing.T, ctx context.Context, topo *lab.Topology) {
	t.Helper()
	from, to := topoHost(t, topo, "blue", 1, 1), topoHost(t, topo, "blue", 2, 1)
	var sent, got int
	for try := 0; try < 5; try++ {
		var err error
		sent, got, err = lab.Ping(ctx, from, to.IPv4.Addr(), 5, 200*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		if got == sent {
			break
		}
	}
	t.Logf("ping %s -> %s (%s): %d sent, %d received", from.Name, to.Name, to.IPv4.Addr(), sent, got)
	if got == 0 {
		t.Errorf("%s cannot reach %s across the datacenters", from.Name, to.Name)
	}
}
