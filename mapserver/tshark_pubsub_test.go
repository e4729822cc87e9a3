package mapserver

import (
	"fmt"
	"os/exec"
	"strconv"
	"testing"
	"time"
)

// TestTsharkPubSub captures a subscription on loopback (the pub/sub
// Map-Request of a codec-built xTR, the server's confirming Map-Notify,
// its Ack) and a publication after a move, and has tshark decode them
// without errors.
func TestTsharkPubSub(t *testing.T) {
	if _, err := exec.LookPath("tshark"); err != nil {
		t.Skip("tshark not installed")
	}
	ctl, _ := pubsubController(t, dbFile(t))
	place(t, ctl, "dc1", "192.0.2.1")
	s := startServer(t, ctl, Config{})
	port := strconv.Itoa(int(s.Addr().Port()))
	file := t.TempDir() + "/pubsub.pcap"
	cap := startCapture(t, port, file)

	c := newSubscriber(t, s.Addr(), "127.0.0.1:0", keyDC1, 40)
	conf := c.subscribed(ctl, iidA, hostMAC)
	place(t, ctl, "dc2", "192.0.2.20")
	pub := c.notify(2 * time.Second)
	c.ack(pub, keyDC1)
	waitFor(t, "the publication acknowledged", 5*time.Second, func() bool { return s.ps.pend.size() == 0 })

	nonce := func(n uint64) string { return fmt.Sprintf("0x%016x", n) }
	mac := map[string]string{"lisp.records": "1", "lisp.lcaf.iid": "1000", "lisp.lcaf.iid.mac": hostMAC}
	req, notify, ack := clone(mac), clone(mac), map[string]string{"lisp.type": "5"}
	req["lisp.type"] = "1"
	notify["lisp.type"], notify["lisp.keyid"] = "4", "0x0002"
	confNotify, pubNotify := clone(notify), clone(notify)
	confNotify["lisp.loc.locator"], pubNotify["lisp.loc.locator"] = "192.0.2.1", "192.0.2.20"
	// tshark 4.0 names a Map-Notify-Ack's type but does not dissect its
	// body (see packet's tshark test), so the Acks show no nonce.
	want := map[string][]liveWant{
		nonce(conf.notify.Nonce): {{true, req}, {false, confNotify}},
		nonce(pub.notify.Nonce):  {{false, pubNotify}},
		"":                       {{true, ack}, {true, ack}},
	}
	cap.stop(t, 5)
	checkLive(t, file, port, want)
}
