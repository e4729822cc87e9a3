package lab

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// SchemaPath is where Debian's openvswitch-common puts the Open_vSwitch schema.
const SchemaPath = "/usr/share/openvswitch/vswitch.ovsschema"

// OVS is one private Open vSwitch instance: its own database file, sockets,
// logs and pid files under Dir, optionally inside network namespace Netns.
// Several can run at once because each has its own OVS_RUNDIR.
type OVS struct {
	Dir   string `json:"dir"`
	Netns string `json:"netns,omitempty"` // empty: the current namespace
	SSL   *SSL   `json:"ssl,omitempty"`   // ovsdb-server's TLS listener, if any
}

// SSL makes ovsdb-server also listen with TLS, with the switch's own key
// and certificate and the CA it trusts for clients (PEM file paths).
type SSL struct {
	PrivateKey  string `json:"private_key"`
	Certificate string `json:"certificate"`
	CACert      string `json:"ca_cert"`
	Remote      string `json:"remote"` // passive method, e.g. pssl:6640:203.0.113.1
}

// DBSock is the OVSDB endpoint of the instance, as libovsdb and ovs-vsctl take it.
func (o *OVS) DBSock() string { return "unix:" + filepath.Join(o.Dir, "db.sock") }

func (o *OVS) env() []string {
	return append(os.Environ(),
		"OVS_RUNDIR="+o.Dir, "OVS_LOGDIR="+o.Dir, "OVS_DBDIR="+o.Dir, "OVS_SYSCONFDIR="+o.Dir)
}

// Command builds a command that runs inside the instance's namespace with
// the instance's OVS_RUNDIR, so ovs-ofctl and ovs-appctl find its sockets.
func (o *OVS) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	if o.Netns != "" {
		args = append([]string{"netns", "exec", o.Netns, name}, args...)
		name = "ip"
	}
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = o.env()
	return cmd
}

// Run runs an OVS tool against this instance and returns its trimmed output.
func (o *OVS) Run(name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	switch name {
	case "ovs-vsctl":
		args = append([]string{"--db=" + o.DBSock(), "--timeout=20"}, args...)
	case "ovs-appctl":
		args = append([]string{"-t", filepath.Join(o.Dir, "ovs-vswitchd.ctl")}, args...)
	}
	out, err := o.Command(ctx, name, args...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out)), nil
}

// Vsctl runs ovs-vsctl against the instance's database.
func (o *OVS) Vsctl(args ...string) (string, error) { return o.Run("ovs-vsctl", args...) }

// Ofctl runs ovs-ofctl with OpenFlow 1.3 against a bridge of the instance.
func (o *OVS) Ofctl(args ...string) (string, error) {
	return o.Run("ovs-ofctl", append([]string{"-O", "OpenFlow13"}, args...)...)
}

// Appctl runs ovs-appctl against the instance's ovs-vswitchd.
func (o *OVS) Appctl(args ...string) (string, error) { return o.Run("ovs-appctl", args...) }

// StartOVS creates the database and starts ovsdb-server and ovs-vswitchd
// (which, with no kernel module, serves only userspace netdev bridges).
// Leftovers of an earlier run in dir are stopped and removed first.
func StartOVS(dir, netns string) (*OVS, error) {
	o := &OVS{Dir: dir, Netns: netns}
	return o, o.Start()
}

// Start is StartOVS for an instance described by o (with o.SSL, say).
func (o *OVS) Start() error {
	o.Stop()
	if err := os.RemoveAll(o.Dir); err != nil {
		return fmt.Errorf("clean %s: %w", o.Dir, err)
	}
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", o.Dir, err)
	}
	db := filepath.Join(o.Dir, "conf.db")
	if _, err := o.Run("ovsdb-tool", "create", db, SchemaPath); err != nil {
		return err
	}
	if err := o.StartDB(); err != nil {
		return err
	}
	if _, err := o.Vsctl("--no-wait", "init"); err != nil {
		return err
	}
	return o.StartVswitchd()
}

// StartDB starts ovsdb-server on the instance's database, listening on
// its unix socket and, with o.SSL, on o.SSL.Remote with TLS.
func (o *OVS) StartDB() error {
	args := []string{filepath.Join(o.Dir, "conf.db"),
		"--remote=punix:" + filepath.Join(o.Dir, "db.sock"),
		"--pidfile=" + filepath.Join(o.Dir, "ovsdb-server.pid"),
		"--unixctl=" + filepath.Join(o.Dir, "ovsdb-server.ctl"),
		"--log-file=" + filepath.Join(o.Dir, "ovsdb-server.log"),
		"--detach"}
	if s := o.SSL; s != nil {
		args = append(args, "--remote="+s.Remote, "--private-key="+s.PrivateKey,
			"--certificate="+s.Certificate, "--ca-cert="+s.CACert)
	}
	_, err := o.Run("ovsdb-server", args...)
	return err
}

// StartVswitchd starts ovs-vswitchd against the instance's database.
func (o *OVS) StartVswitchd() error {
	_, err := o.Run("ovs-vswitchd", o.DBSock(),
		"--pidfile="+filepath.Join(o.Dir, "ovs-vswitchd.pid"),
		"--unixctl="+filepath.Join(o.Dir, "ovs-vswitchd.ctl"),
		"--log-file="+filepath.Join(o.Dir, "ovs-vswitchd.log"),
		"--detach")
	return err
}

// StopVswitchd stops ovs-vswitchd and waits until it is gone.
func (o *OVS) StopVswitchd() { stopPidfile(filepath.Join(o.Dir, "ovs-vswitchd.pid")) }

// RestartVswitchd stops and starts ovs-vswitchd, as an operator's restart would.
func (o *OVS) RestartVswitchd() error {
	o.StopVswitchd()
	return o.StartVswitchd()
}

// Stop ends both daemons. It is safe on an instance that never started.
func (o *OVS) Stop() {
	o.StopVswitchd()
	stopPidfile(filepath.Join(o.Dir, "ovsdb-server.pid"))
}

// stopPidfile sends SIGTERM, then SIGKILL after a grace period.
func stopPidfile(path string) {
	b, err := os.ReadFile(path)
	if err != nil {
		return
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 1 {
		return
	}
	_ = syscall.Kill(pid, syscall.SIGTERM)
	for i := 0; i < 50; i++ {
		if processGone(pid) {
			_ = os.Remove(path)
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	_ = syscall.Kill(pid, syscall.SIGKILL)
	_ = os.Remove(path)
}

// processGone reports whether pid has exited. A zombie counts as gone: its
// reaper (the daemons are detached, so not us) may take seconds to collect it.
func processGone(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return true
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return errors.Is(err, os.ErrNotExist)
	}
	// The state follows the parenthesised command name, which may hold spaces.
	if i := bytes.LastIndexByte(b, ')'); i >= 0 && i+2 < len(b) {
		return b[i+2] == 'Z' || b[i+2] == 'X'
	}
	return false
}
