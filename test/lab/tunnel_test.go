package lab

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"testing"
)

// TestTunnelAcrossWAN plays the controller by hand: br-int with a
// flow-based LISP-GPE port (vxlan with exts=gpe on 4341, as l2lisp makes
// it) in two DCs and static flows, then checks
// that the lab carries tenant traffic: v4, v6, full-MTU frames and TCP
// (which breaks silently if an offload or MTU trap is left in the lab).
func TestTunnelAcrossWAN(t *testing.T) {
	ctx := needLab(t)
	cfg := Config{DCs: 2, HostsPerNetwork: 1}
	t.Cleanup(func() {
		if err := Down(context.Background(), cfg); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	topo, err := Up(ctx, cfg)
	if err != nil {
		t.Fatalf("Up: %v", err)
	}
	a, b := *topo.Host("dc1-blue-h1"), *topo.Host("dc2-blue-h1")
	for _, pair := range [][2]Host{{a, b}, {b, a}} {
		local, remote := topo.DC(pair[0].DC), topo.DC(pair[1].DC)
		if err := handBrInt(local, remote, pair[0]); err != nil {
			t.Fatal(err)
		}
	}
	// The first packets may go while the tunnel neighbour resolves.
	if _, _, err := Ping(ctx, a, b.IPv4.Addr(), 3, 0); err != nil {
		t.Fatal(err)
	}
	for _, to := range []string{b.IPv4.Addr().String(), b.IPv6.Addr().String()} {
		out, err := a.Exec(ctx, "ping", "-n", "-c", "3", "-i", "0.2", "-W", "1", to)
		if sent, recv, perr := parsePing(out, err); perr != nil || recv != sent {
			t.Errorf("ping %s: %d/%d %v\n%s", to, recv, sent, perr, out)
		}
	}
	// 1422 bytes of ICMP payload fill the hosts' 1450 MTU; DF forbids fragments.
	out, err := a.Exec(ctx, "ping", "-n", "-c", "2", "-M", "do", "-s", "1422", "-W", "1", b.IPv4.Addr().String())
	if sent, recv, perr := parsePing(out, err); perr != nil || recv != sent {
		t.Errorf("full-MTU ping: %d/%d %v\n%s", recv, sent, perr, out)
	}
	checkTCP(t, ctx, a, b)
}

// handBrInt makes br-int in local's OVS with host h's port and the tunnel,
// and flows between them for h's instance-id.
func handBrInt(local, remote *DC, h Host) error {
	if _, err := local.OVS.Vsctl("add-br", "br-int", "--", "set", "bridge", "br-int",
		"datapath_type=netdev", "fail_mode=secure",
		"--", "add-port", "br-int", "lisp0", "--", "set", "interface", "lisp0", "type=vxlan",
		"options:remote_ip=flow", "options:key=flow", "options:dst_port=4341", "options:exts=gpe", "ofport_request=100",
		"--", "add-port", "br-int", h.Port, "--", "set", "interface", h.Port, "ofport_request=1"); err != nil {
		return err
	}
	for _, f := range []string{
		fmt.Sprintf("in_port=1,actions=set_field:%d->tun_id,set_field:%s->tun_dst,output:100", h.InstanceID, remote.RLOC),
		fmt.Sprintf("in_port=100,tun_id=%d,actions=output:1", h.InstanceID),
	} {
		if _, err := local.OVS.Ofctl("add-flow", "br-int", f); err != nil {
			return err
		}
	}
	return nil
}

// checkTCP sends 2 MB over TCP from a to b with python3, if it is there.
func checkTCP(t *testing.T, ctx context.Context, a, b Host) {
	t.Helper()
	if _, err := exec.LookPath("python3"); err != nil {
		t.Log("no python3: TCP check skipped")
		return
	}
	const server = `
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], 5001)); s.listen(1); s.settimeout(60)
c, _ = s.accept(); c.settimeout(60); n = 0
while True:
    d = c.recv(65536)
    if not d: break
    n += len(d)
print(n)`
	const client = `
import socket, sys, time
for i in range(100):
    try:
        s = socket.create_connection((sys.argv[1], 5001), timeout=60); break
    except ConnectionRefusedError:
        time.sleep(0.1)
s.sendall(b"x" * 2000000); s.close()`
	var wg sync.WaitGroup
	var srvOut []byte
	var srvErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		srvOut, srvErr = b.Exec(ctx, "python3", "-c", server, b.IPv4.Addr().String())
	}()
	if out, err := a.Exec(ctx, "python3", "-c", client, b.IPv4.Addr().String()); err != nil {
		t.Errorf("TCP client: %v\n%s", err, out)
	}
	wg.Wait()
	if srvErr != nil || strings.TrimSpace(string(srvOut)) != "2000000" {
		t.Errorf("TCP server got %q: %v", srvOut, srvErr)
	}
}
