package lab

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/l2lisp/l2lisp/pki"
)

// The lab's own controller: with Config.Replicas, Up starts that many
// l2lisp serve processes on the management address, every switch told
// about all of them, and registers the lab through the elected leader.

// MaxReplicas bounds Config.Replicas; replica i takes the ports base+i-1.
const MaxReplicas = 9

// Ports of the first replica on MgmtAddr; the next ones count up.
const (
	ReplicaRESTPort     = 8080
	ReplicaOpenFlowPort = 6653
	ReplicaLISPPort     = 4342
)

// replicaDir holds the replicas' logs and pid files inside RunDir, and
// tokenFile their admin token.
const (
	replicaDir = "replicas"
	tokenFile  = "admin-token"
)

// Replica is one l2lisp serve process Up started for the lab.
type Replica struct {
	ID       string `json:"id"`       // r1..rN, its --replica-id
	API      string `json:"api"`      // REST base URL, https://MgmtAddr:port
	OpenFlow string `json:"openflow"` // the target switches connect to
	LISP     string `json:"lisp"`     // its Map-Server/Map-Resolver, UDP
	Log      string `json:"log"`
	PidFile  string `json:"pid_file"`
}

// ClusterView is the part of GET /api/v1/cluster the lab reads.
type ClusterView struct {
	Self     string `json:"self"`
	Leader   string `json:"leader"`
	Replicas []struct {
		ID             string `json:"id"`
		Address        string `json:"address"`
		Role           string `json:"role"`
		AppliedEventID int64  `json:"applied_event_id"`
	} `json:"replicas"`
}

// IsPostgres reports whether a --db value names a PostgreSQL database.
func IsPostgres(db string) bool {
	return strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://")
}

// validateReplicas checks the replica settings of a config with defaults.
func (c Config) validateReplicas() error {
	if c.Replicas == 0 {
		return nil
	}
	var errs []error
	if c.Replicas < 0 || c.Replicas > MaxReplicas {
		errs = append(errs, fmt.Errorf("replicas %d: want 0..%d", c.Replicas, MaxReplicas))
	}
	if c.Replicas > 1 && !IsPostgres(c.DB) {
		errs = append(errs, fmt.Errorf("%d replicas need a PostgreSQL database (postgres://...), not %q: "+
			"a SQLite file cannot be shared by replicas", c.Replicas, c.DB))
	}
	if c.Plaintext {
		errs = append(errs, errors.New("replicas run with the lab's PKI: not with Plaintext"))
	}
	if c.Binary == "" {
		errs = append(errs, errors.New("replicas need Binary, the l2lisp executable"))
	}
	return errors.Join(errs...)
}

// planReplicas names each replica's ports and files and points the
// switches at all of them.
func planReplicas(c Config, t *Topology) {
	if c.Replicas == 0 {
		return
	}
	dir := filepath.Join(c.RunDir, replicaDir)
	var targets []string
	for i := range c.Replicas {
		id := fmt.Sprintf("r%d", i+1)
		r := Replica{
			ID:       id,
			API:      fmt.Sprintf("https://%s:%d", MgmtAddr, ReplicaRESTPort+i),
			OpenFlow: fmt.Sprintf("ssl:%s:%d", MgmtAddr, ReplicaOpenFlowPort+i),
			LISP:     fmt.Sprintf("%s:%d", MgmtAddr, ReplicaLISPPort+i),
			Log:      filepath.Join(dir, id+".log"),
			PidFile:  filepath.Join(dir, id+".pid"),
		}
		targets = append(targets, r.OpenFlow)
		t.Replicas = append(t.Replicas, r)
	}
	t.OpenFlow = strings.Join(targets, ",")
	t.TokenFile = filepath.Join(c.RunDir, tokenFile)
}

// checkControllerCert fails early when the PKI's controller certificate
// does not name the management address the replicas listen on.
func checkControllerCert(c Config) error {
	m, err := pki.Load(filepath.Join(c.PKIDir, pki.ControllerCertFile),
		filepath.Join(c.PKIDir, pki.ControllerKeyFile), filepath.Join(c.PKIDir, pki.CAFile))
	if err != nil {
		return err
	}
	if err := m.Leaf.VerifyHostname(MgmtAddr); err != nil {
		return fmt.Errorf("controller certificate of %s: %w (re-issue it with --ip %s)", c.PKIDir, err, MgmtAddr)
	}
	return nil
}

// startReplicas writes the shared admin token and starts every replica;
// it does not wait for them (waitLeader does).
func startReplicas(c Config, t *Topology) (token string, err error) {
	if err := checkControllerCert(c); err != nil {
		return "", err
	}
	if token, err = writeToken(c.Token, t.TokenFile); err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Join(c.RunDir, replicaDir), 0o755); err != nil {
		return "", fmt.Errorf("replica dir: %w", err)
	}
	for _, r := range t.Replicas {
		if err := startReplica(c, t, r); err != nil {
			return "", fmt.Errorf("replica %s: %w", r.ID, err)
		}
		c.Log.Info("lab: replica started", "id", r.ID, "api", r.API, "log", r.Log)
	}
	c.Log.Info("lab: admin token written", "file", t.TokenFile)
	return token, nil
}

// writeToken writes the admin token (given, or a new random one) to path,
// readable by its owner only, and returns it.
func writeToken(given, path string) (string, error) {
	tok := given
	if tok == "" {
		b := make([]byte, 24)
		if _, err := rand.Read(b); err != nil {
			return "", fmt.Errorf("admin token: %w", err)
		}
		tok = hex.EncodeToString(b)
	}
	_ = os.Remove(path)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", fmt.Errorf("write admin token: %w", err)
	}
	_, werr := f.WriteString(tok + "\n")
	if err := errors.Join(werr, f.Close()); err != nil {
		return "", fmt.Errorf("write admin token: %w", err)
	}
	return tok, nil
}

// replicaArgs are the serve flags of one replica; the token travels in its
// file, never on a command line that ps shows.
func replicaArgs(c Config, t *Topology, r Replica) []string {
	hostPort := func(u string) string { return u[strings.LastIndex(u, "/")+1:] }
	args := []string{"serve", "--db", c.DB, "--listen", hostPort(r.API),
		"--openflow-listen", strings.TrimPrefix(r.OpenFlow, "ssl:"), "--openflow-target", t.OpenFlow,
		"--lisp-listen", r.LISP, "--replica-id", r.ID, "--api-token-file", t.TokenFile,
		"--tls-cert", filepath.Join(c.PKIDir, pki.ControllerCertFile),
		"--tls-key", filepath.Join(c.PKIDir, pki.ControllerKeyFile),
		"--tls-ca", filepath.Join(c.PKIDir, pki.CAFile)}
	return append(args, c.ServeArgs...)
}

// startReplica runs one serve process in a session of its own, so it
// outlives the lab up command; its pid file is how Down finds it.
func startReplica(c Config, t *Topology, r Replica) error {
	logf, err := os.OpenFile(r.Log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command(c.Binary, replicaArgs(c, t, r)...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	// The token file is the one admin token; an inherited one would win.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "L2LISP_API_TOKEN=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	pid := cmd.Process.Pid
	if err := os.WriteFile(r.PidFile, []byte(strconv.Itoa(pid)+"\n"), 0o644); err != nil {
		_ = cmd.Process.Kill()
		return fmt.Errorf("pid file: %w", err)
	}
	return cmd.Process.Release()
}

// waitLeader polls the replicas until every one answers and one says it
// leads, and fails at once when a replica has exited. A replica that is
// still waiting for its turn at the schema migrations answers later than
// the first: lab up returns only once all of them serve.
func waitLeader(ctx context.Context, c Config, t *Topology, within time.Duration) (*Replica, error) {
	cl, err := newClient(c)
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(within)
	for {
		var leader *Replica
		answered := 0
		for i := range t.Replicas {
			r := &t.Replicas[i]
			if _, alive := pidAlive(r.PidFile); !alive {
				return nil, fmt.Errorf("replica %s exited; its log %s ends:\n%s", r.ID, r.Log, logTail(r.Log, 15))
			}
			v, err := cl.clusterOf(ctx, r.API)
			if err != nil {
				continue
			}
			answered++
			if v.Leader != "" && v.Leader == v.Self {
				leader = r
			}
		}
		if leader != nil && answered == len(t.Replicas) {
			return leader, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("after %v, %d of %d replicas answer, leader found %v; see %s",
				within, answered, len(t.Replicas), leader != nil, filepath.Dir(t.Replicas[0].Log))
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// clusterOf reads GET /api/v1/cluster of the replica at base.
func (c *client) clusterOf(ctx context.Context, base string) (ClusterView, error) {
	var v ClusterView
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/v1/cluster", nil)
	if err != nil {
		return v, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := c.http.Do(req)
	if err != nil {
		return v, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return v, fmt.Errorf("GET %s/api/v1/cluster: HTTP %d", base, resp.StatusCode)
	}
	return v, json.NewDecoder(resp.Body).Decode(&v)
}

// logTail is the last n lines of a file, for an error message.
func logTail(path string, n int) string {
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// stopReplicas ends the replicas of a lab in runDir: by pid file, then any
// serve process whose command line names a file in runDir (a killed run
// that lost its pid files).
func stopReplicas(runDir string) {
	pids, _ := filepath.Glob(filepath.Join(runDir, replicaDir, "*.pid"))
	for _, p := range pids {
		stopPidfile(p)
	}
	for _, pid := range strayServe(runDir) {
		killWait(pid)
	}
}

// strayServe finds l2lisp serve processes started for the lab in dir:
// those reading its token file, not a controller of the operator's that
// merely uses the lab's certificates.
func strayServe(dir string) []int {
	token := filepath.Join(dir, tokenFile)
	return strays(dir, func(argv []string) bool {
		i := slices.Index(argv, "--api-token-file")
		return len(argv) > 1 && argv[1] == "serve" && i > 0 && i+1 < len(argv) && argv[i+1] == token
	})
}

// StrayServe lists the l2lisp serve processes a lab in runDir ("" for the
// default) started and that still run; after Down there are none.
func StrayServe(runDir string) []int {
	if runDir == "" {
		runDir = DefaultRunDir
	}
	return strayServe(runDir)
}
