package e2e

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/l2lisp/l2lisp/mapserver/client"
	"github.com/l2lisp/l2lisp/mapserver/packet"
	"github.com/l2lisp/l2lisp/test/sim"
)

// TestLocatorStatusOpenFlow runs the real binary with a simulated switch
// over real OpenFlow: when the xTR's OpenFlow connection drops, its RLOC
// goes out with the R bit clear and priority 255 in Map-Replies and shows
// up: false in the API; when the switch connects again, both come back.
// No OVS is needed (the xTR has no OVSDB target), so it takes no lab lock.
func TestLocatorStatusOpenFlow(t *testing.T) {
	ctl := startBenchController(t, freeAddr(t), "", "info")
	const iid, mac = 4100, "02:00:00:00:00:31"
	ctl.do("POST", "/api/v1/networks", map[string]any{"instance_id": iid, "name": "blue"}, 201)
	ctl.do("POST", "/api/v1/sites", map[string]any{"name": "dc1", "auth_key": "locator-key-1", "networks": []int{iid}}, 201)
	body := ctl.do("POST", "/api/v1/sites/dc1/xtrs", map[string]any{"name": "dc1-x", "rloc": "192.0.2.31"}, 201)
	var x struct {
		DatapathID string `json:"datapath_id"`
	}
	if err := json.Unmarshal(body, &x); err != nil {
		t.Fatal(err)
	}
	dpid, err := strconv.ParseUint(x.DatapathID, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	ctl.do("POST", "/api/v1/mappings", map[string]any{"instance_id": iid, "eid": mac, "site": "dc1"}, 201)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	check := func(what string, up bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			loc, apiUp := ligLocator(t, ctx, ctl.LISP, iid, mac), lookupUp(t, ctl, iid, mac)
			if loc.Reachable == up && (loc.Priority == 255) != up && apiUp == up {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: Map-Reply R=%v priority %d, API up=%v; want up=%v\n%s", what, loc.Reachable, loc.Priority, apiUp, up, ctl.Log())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	check("never connected", true)
	sw, err := sim.Dial(ctx, ctl.OFAddr, sim.Options{DPID: dpid, TLS: simTLS(t, ctl.PKI, "dc1-x")})
	if err != nil {
		t.Fatal(err)
	}
	check("connected", true)
	_ = sw.Close()
	check("OpenFlow connection dropped", false)
	sw, err = sim.Dial(ctx, ctl.OFAddr, sim.Options{DPID: dpid, TLS: simTLS(t, ctl.PKI, "dc1-x")})
	if err != nil {
		t.Fatal(err)
	}
	defer sw.Close()
	check("reconnected", true)
	evs := string(ctl.do("GET", "/api/v1/events?since=0&limit=100", nil, 200))
	if !strings.Contains(evs, `"xtr.down"`) || !strings.Contains(evs, `"xtr.up"`) {
		t.Errorf("the feed lacks the status events: %s", evs)
	}
}

func ligLocator(t *testing.T, ctx context.Context, mr string, iid uint32, eid string) packet.Locator {
	t.Helper()
	res, err := client.Lig(ctx, client.LigOptions{MR: mr, IID: iid, EID: eid, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Records) != 1 || len(res.Records[0].Locators) != 1 {
		t.Fatalf("Map-Reply: %+v", res.Records)
	}
	return res.Records[0].Locators[0]
}

func lookupUp(t *testing.T, ctl *benchCtl, iid uint32, eid string) bool {
	t.Helper()
	var rec struct {
		RLOCs []struct {
			Up bool `json:"up"`
		} `json:"rlocs"`
	}
	b := ctl.do("GET", "/api/v1/lookup?instance_id="+strconv.Itoa(int(iid))+"&eid="+eid, nil, 200)
	if err := json.Unmarshal(b, &rec); err != nil || len(rec.RLOCs) != 1 {
		t.Fatalf("lookup: %s %v", b, err)
	}
	return rec.RLOCs[0].Up
}
