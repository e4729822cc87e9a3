package northbound_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// checkError checks an error answer: status, code and the named field.
func checkError(t *testing.T, what string, status int, body []byte, wantStatus int, wantCode, wantField string) {
	t.Helper()
	if status != wantStatus {
		t.Errorf("%s: status %d, want %d: %s", what, status, wantStatus, body)
		return
	}
	var e apiErr
	if err := json.Unmarshal(body, &e); err != nil {
		t.Errorf("%s: the error body is not JSON: %s", what, body)
		return
	}
	if e.Error.Code != wantCode || e.Error.Message == "" {
		t.Errorf("%s: code %q message %q, want code %q", what, e.Error.Code, e.Error.Message, wantCode)
	}
	if wantField != "*" && e.Error.Field != wantField {
		t.Errorf("%s: field %q, want %q (%s)", what, e.Error.Field, wantField, e.Error.Message)
	}
}

type badCase struct {
	name         string
	method, path string
	body         any
	status       int
	code, field  string // field "*": any
}

func badInputs() []badCase {
	return slices.Concat(badNetworks(), badSites(), badXTRs(), badPorts(), badMappings(), badQueries())
}

func badNetworks() []badCase {
	long := strings.Repeat("a", 64)
	return []badCase{
		{"dup iid", "POST", "/networks", `{"instance_id":4100,"name":"other"}`, 409, "conflict", "instance_id"},
		{"dup name", "POST", "/networks", `{"instance_id":4300,"name":"blue"}`, 409, "conflict", "name"},
		{"negative iid", "POST", "/networks", `{"instance_id":-1,"name":"x"}`, 400, "invalid", "instance_id"},
		{"iid > 24 bits", "POST", "/networks", `{"instance_id":16777216,"name":"x"}`, 400, "invalid", "instance_id"},
		{"iid missing", "POST", "/networks", `{"name":"x"}`, 400, "invalid", "instance_id"},
		{"iid null", "POST", "/networks", `{"instance_id":null,"name":"x"}`, 400, "invalid", "instance_id"},
		{"iid string", "POST", "/networks", `{"instance_id":"4300","name":"x"}`, 400, "invalid", "instance_id"},
		{"iid float", "POST", "/networks", `{"instance_id":4300.5,"name":"x"}`, 400, "invalid", "instance_id"},
		{"iid huge", "POST", "/networks", `{"instance_id":1e30,"name":"x"}`, 400, "invalid", "instance_id"},
		{"name empty", "POST", "/networks", `{"instance_id":4300,"name":""}`, 400, "invalid", "name"},
		{"name dash first", "POST", "/networks", `{"instance_id":4300,"name":"-x"}`, 400, "invalid", "name"},
		{"name space", "POST", "/networks", `{"instance_id":4300,"name":"a b"}`, 400, "invalid", "name"},
		{"name slash", "POST", "/networks", `{"instance_id":4300,"name":"a/b"}`, 400, "invalid", "name"},
		{"name 64 chars", "POST", "/networks", `{"instance_id":4300,"name":"` + long + `"}`, 400, "invalid", "name"},
		{"name number", "POST", "/networks", `{"instance_id":4300,"name":5}`, 400, "invalid", "name"},
		{"encap unknown", "POST", "/networks", `{"instance_id":4300,"name":"x","encapsulation":"lisp"}`, 400, "invalid", "encapsulation"},
		{"encap upper case", "POST", "/networks", `{"instance_id":4300,"name":"x","encapsulation":"VXLAN"}`, 400, "invalid", "encapsulation"},
		{"encap number", "POST", "/networks", `{"instance_id":4300,"name":"x","encapsulation":1}`, 400, "invalid", "encapsulation"},
		{"patch encap unknown", "PATCH", "/networks/4100", `{"encapsulation":"geneve"}`, 400, "invalid", "encapsulation"},
		{"patch encap null", "PATCH", "/networks/4100", `{"encapsulation":5}`, 400, "invalid", "encapsulation"},
		{"patch rename", "PATCH", "/networks/4100", `{"name":"other"}`, 400, "invalid", "name"},
		{"patch missing network", "PATCH", "/networks/4999", `{"encapsulation":"vxlan"}`, 404, "not_found", "instance_id"},
		{"patch iid > 24 bits", "PATCH", "/networks/16777216", `{"encapsulation":"vxlan"}`, 404, "not_found", "instance_id"},
		{"patch iid text", "PATCH", "/networks/blue", `{"encapsulation":"vxlan"}`, 400, "invalid", "instance_id"},
		{"unknown field", "POST", "/networks", `{"instance_id":4300,"name":"x","colour":"blue"}`, 400, "invalid", "colour"},
		{"empty body", "POST", "/networks", ``, 400, "invalid", ""},
		{"malformed", "POST", "/networks", `{"instance_id":4300,`, 400, "invalid", ""},
		{"array body", "POST", "/networks", `[{"instance_id":4300,"name":"x"}]`, 400, "invalid", "*"},
		{"trailing object", "POST", "/networks", `{"instance_id":4300,"name":"x"} {"a":1}`, 400, "invalid", ""},
		{"trailing brace", "POST", "/networks", `{"instance_id":4301,"name":"x1"}}`, 400, "invalid", ""},
		{"trailing bracket", "POST", "/networks", `{"instance_id":4302,"name":"x2"}]`, 400, "invalid", ""},
		{"over 1 MiB", "POST", "/networks", `{"instance_id":4300,"name":"` + strings.Repeat("a", 1<<20) + `"}`, 413, "too_large", ""},
		{"path iid text", "GET", "/networks/abc", nil, 400, "invalid", "instance_id"},
		{"path iid unknown", "GET", "/networks/99", nil, 404, "not_found", "instance_id"},
		{"path iid wraps to 4100", "GET", "/networks/4294971396", nil, 404, "not_found", "instance_id"},
		{"delete iid wraps to 4100", "DELETE", "/networks/4294971396", nil, 404, "not_found", "instance_id"},
		{"delete iid negative", "DELETE", "/networks/-4100", nil, 404, "not_found", "instance_id"},
		{"delete iid unknown", "DELETE", "/networks/99", nil, 404, "not_found", "instance_id"},
	}
}

func badSites() []badCase {
	return []badCase{
		{"site dup", "POST", "/sites", map[string]any{"name": "dc1", "auth_key": keyNew}, 409, "conflict", "name"},
		{"site bad name", "POST", "/sites", map[string]any{"name": "dc 3", "auth_key": keyNew}, 400, "invalid", "name"},
		{"site no key", "POST", "/sites", map[string]any{"name": "dc3"}, 400, "invalid", "auth_key"},
		{"site short key", "POST", "/sites", map[string]any{"name": "dc3", "auth_key": "short"}, 400, "invalid", "auth_key"},
		{"site unknown iid", "POST", "/sites", map[string]any{"name": "dc3", "auth_key": keyNew, "networks": []int{99}}, 400, "invalid", "networks"},
		{"site negative iid", "POST", "/sites", map[string]any{"name": "dc3", "auth_key": keyNew, "networks": []int{-1}}, 400, "invalid", "networks"},
		{"site iid as text", "POST", "/sites", `{"name":"dc3","auth_key":"` + keyNew + `","networks":["4100"]}`, 400, "invalid", "networks"},
		{"site networks not array", "POST", "/sites", `{"name":"dc3","auth_key":"` + keyNew + `","networks":4100}`, 400, "invalid", "networks"},
		{"site prefix /33", "POST", "/sites", map[string]any{"name": "dc3", "auth_key": keyNew, "eid_prefixes": []string{"198.51.100.0/33"}}, 400, "invalid", "eid_prefixes"},
		{"site prefix text", "POST", "/sites", map[string]any{"name": "dc3", "auth_key": keyNew, "eid_prefixes": []string{"blue"}}, 400, "invalid", "eid_prefixes"},
		{"site prefix no length", "POST", "/sites", map[string]any{"name": "dc3", "auth_key": keyNew, "eid_prefixes": []string{"198.51.100.0"}}, 400, "invalid", "eid_prefixes"},
		{"site prefix zone", "POST", "/sites", map[string]any{"name": "dc3", "auth_key": keyNew, "eid_prefixes": []string{"fe80::%eth0/64"}}, 400, "invalid", "eid_prefixes"},
		{"site key number", "POST", "/sites", `{"name":"dc3","auth_key":12345678}`, 400, "invalid", "auth_key"},
		{"site unknown field", "POST", "/sites", map[string]any{"name": "dc3", "auth_key": keyNew, "prefixes": []string{}}, 400, "invalid", "prefixes"},
		{"patch rename", "PATCH", "/sites/dc1", map[string]any{"name": "dc9"}, 400, "invalid", "name"},
		{"patch unknown site", "PATCH", "/sites/nope", map[string]any{"networks": []int{4100}}, 404, "not_found", "name"},
		{"patch short key", "PATCH", "/sites/dc1", map[string]any{"auth_key": "short"}, 400, "invalid", "auth_key"},
		{"patch unknown iid", "PATCH", "/sites/dc1", map[string]any{"networks": []int{4100, 99}}, 400, "invalid", "networks"},
		{"patch bad prefix", "PATCH", "/sites/dc1", map[string]any{"eid_prefixes": []string{"x"}}, 400, "invalid", "eid_prefixes"},
		{"patch unknown field", "PATCH", "/sites/dc1", map[string]any{"xtrs": []string{}}, 400, "invalid", "xtrs"},
		{"site mac prefix /0", "POST", "/sites", map[string]any{"name": "dc3", "auth_key": keyNew, "mac_prefixes": []string{"02:00:00:00:00:00/0"}}, 400, "invalid", "mac_prefixes"},
		{"site mac prefix group", "PATCH", "/sites/dc1", map[string]any{"mac_prefixes": []string{"01:00:5e:00:00:00/24"}}, 400, "invalid", "mac_prefixes"},
		{"site mac prefix text", "PATCH", "/sites/dc1", map[string]any{"mac_prefixes": []string{"oui"}}, 400, "invalid", "mac_prefixes"},
		{"site mac prefixes not array", "PATCH", "/sites/dc1", `{"mac_prefixes":"02:00:10:00:00:00/24"}`, 400, "invalid", "mac_prefixes"},
		{"site any_mac text", "PATCH", "/sites/dc1", `{"any_mac":"yes"}`, 400, "invalid", "any_mac"},
		{"site rloc prefix no length", "PATCH", "/sites/dc1", map[string]any{"rloc_prefixes": []string{"192.0.2.1"}}, 400, "invalid", "rloc_prefixes"},
		{"site rloc prefix zone", "POST", "/sites", map[string]any{"name": "dc3", "auth_key": keyNew, "rloc_prefixes": []string{"fe80::%eth0/64"}}, 400, "invalid", "rloc_prefixes"},
		{"get unknown site", "GET", "/sites/nope", nil, 404, "not_found", "name"},
		{"delete unknown site", "DELETE", "/sites/nope", nil, 404, "not_found", "name"},
	}
}

func badXTRs() []badCase {
	return []badCase{
		{"xtr unknown site", "POST", "/sites/nope/xtrs", map[string]any{"name": "x1", "rloc": "192.0.2.9"}, 404, "not_found", "site"},
		{"xtr dup name", "POST", "/sites/dc1/xtrs", map[string]any{"name": "dc1-edge", "rloc": "192.0.2.9"}, 409, "conflict", "name"},
		{"xtr dup rloc", "POST", "/sites/dc1/xtrs", map[string]any{"name": "x1", "rloc": "192.0.2.1"}, 409, "conflict", "rloc"},
		{"xtr dup rloc v4-mapped", "POST", "/sites/dc1/xtrs", map[string]any{"name": "x1", "rloc": "::ffff:192.0.2.1"}, 409, "conflict", "rloc"},
		{"xtr bad name", "POST", "/sites/dc1/xtrs", map[string]any{"name": "x 1", "rloc": "192.0.2.9"}, 400, "invalid", "name"},
		{"xtr rloc text", "POST", "/sites/dc1/xtrs", map[string]any{"name": "x1", "rloc": "edge.example"}, 400, "invalid", "rloc"},
		{"xtr rloc missing", "POST", "/sites/dc1/xtrs", map[string]any{"name": "x1"}, 400, "invalid", "rloc"},
		{"xtr rloc prefix", "POST", "/sites/dc1/xtrs", map[string]any{"name": "x1", "rloc": "192.0.2.9/32"}, 400, "invalid", "rloc"},
		{"xtr rloc multicast", "POST", "/sites/dc1/xtrs", map[string]any{"name": "x1", "rloc": "224.0.0.1"}, 400, "invalid", "rloc"},
		{"xtr rloc unspecified", "POST", "/sites/dc1/xtrs", map[string]any{"name": "x1", "rloc": "::"}, 400, "invalid", "rloc"},
		{"xtr rloc zone", "POST", "/sites/dc1/xtrs", map[string]any{"name": "x1", "rloc": "fe80::1%eth0"}, 400, "invalid", "rloc"},
		{"xtr rloc number", "POST", "/sites/dc1/xtrs", `{"name":"x1","rloc":3221225993}`, 400, "invalid", "rloc"},
		{"xtr ovsdb", "POST", "/sites/dc1/xtrs", map[string]any{"name": "x1", "rloc": "192.0.2.9", "ovsdb": "http://x"}, 400, "invalid", "ovsdb"},
		{"xtr bridge", "POST", "/sites/dc1/xtrs", map[string]any{"name": "x1", "rloc": "192.0.2.9", "bridge": "br int"}, 400, "invalid", "bridge"},
		{"xtr datapath type", "POST", "/sites/dc1/xtrs", map[string]any{"name": "x1", "rloc": "192.0.2.9", "datapath_type": "dpdk"}, 400, "invalid", "datapath_type"},
		{"xtr of target", "POST", "/sites/dc1/xtrs", map[string]any{"name": "x1", "rloc": "192.0.2.9", "openflow_target": "x"}, 400, "invalid", "openflow_target"},
		{"xtr tls_dir relative", "POST", "/sites/dc1/xtrs", map[string]any{"name": "x1", "rloc": "192.0.2.9", "tls_dir": "etc/ovs"}, 400, "invalid", "tls_dir"},
		{"xtr tls_dir dotdot", "POST", "/sites/dc1/xtrs", map[string]any{"name": "x1", "rloc": "192.0.2.9", "tls_dir": "/etc/../root"}, 400, "invalid", "tls_dir"},
		{"xtr priority 256", "POST", "/sites/dc1/xtrs", map[string]any{"name": "x1", "rloc": "192.0.2.9", "priority": 256}, 400, "invalid", "priority"},
		{"xtr priority -1", "POST", "/sites/dc1/xtrs", map[string]any{"name": "x1", "rloc": "192.0.2.9", "priority": -1}, 400, "invalid", "priority"},
		{"xtr priority text", "POST", "/sites/dc1/xtrs", `{"name":"x1","rloc":"192.0.2.9","priority":"1"}`, 400, "invalid", "priority"},
		{"xtr weight 256", "POST", "/sites/dc1/xtrs", map[string]any{"name": "x1", "rloc": "192.0.2.9", "weight": 256}, 400, "invalid", "weight"},
		{"xtr unknown field", "POST", "/sites/dc1/xtrs", map[string]any{"name": "x1", "rloc": "192.0.2.9", "site": "dc1"}, 400, "invalid", "site"},
		{"get unknown xtr", "GET", "/xtrs/nope", nil, 404, "not_found", "name"},
		{"delete unknown xtr", "DELETE", "/xtrs/nope", nil, 404, "not_found", "name"},
	}
}

func badPorts() []badCase {
	return []badCase{
		{"port unknown xtr", "POST", "/xtrs/nope/ports", map[string]any{"name": "p1", "instance_id": 4100}, 404, "not_found", "xtr"},
		{"port name 16", "POST", "/xtrs/dc1-edge/ports", map[string]any{"name": "abcdefghijklmnop", "instance_id": 4100}, 400, "invalid", "name"},
		{"port bad name", "POST", "/xtrs/dc1-edge/ports", map[string]any{"name": "p 1", "instance_id": 4100}, 400, "invalid", "name"},
		{"port no iid", "POST", "/xtrs/dc1-edge/ports", map[string]any{"name": "p1"}, 400, "invalid", "instance_id"},
		{"port iid out of range", "POST", "/xtrs/dc1-edge/ports", map[string]any{"name": "p1", "instance_id": 16777216}, 400, "invalid", "instance_id"},
		{"port iid unknown", "POST", "/xtrs/dc1-edge/ports", map[string]any{"name": "p1", "instance_id": 99}, 403, "forbidden", "instance_id"},
		{"port iid not served", "POST", "/xtrs/dc1-edge/ports", map[string]any{"name": "p1", "instance_id": 4200}, 403, "forbidden", "instance_id"},
		{"port dup", "POST", "/xtrs/dc1-edge/ports", map[string]any{"name": "dc1-h1", "instance_id": 4100}, 409, "conflict", "name"},
		{"ports unknown xtr", "GET", "/xtrs/nope/ports", nil, 404, "not_found", "xtr"},
		{"unbind unknown port", "DELETE", "/xtrs/dc1-edge/ports/nope", nil, 404, "not_found", "port"},
		{"unbind on unknown xtr", "DELETE", "/xtrs/nope/ports/dc1-h1", nil, 404, "not_found", "port"},
	}
}

// badMappings are bad bodies of POST /mappings, each a good body with one
// field changed (nil: removed).
func badMappings() []badCase {
	mp := func(kv ...any) map[string]any {
		m := map[string]any{"instance_id": 4100, "eid": "02:00:00:00:00:09", "site": "dc1"}
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == nil {
				delete(m, kv[i].(string))
				continue
			}
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}
	rl := func(l ...map[string]any) []map[string]any { return l }
	return []badCase{
		{"eid bad MAC", "POST", "/mappings", mp("eid", "02:00:00:00:00:zz"), 400, "invalid", "eid"},
		{"eid short MAC", "POST", "/mappings", mp("eid", "02:00:00:00:00"), 400, "invalid", "eid"},
		{"eid group MAC", "POST", "/mappings", mp("eid", "01:00:5e:00:00:01"), 400, "invalid", "eid"},
		{"eid prefix /33", "POST", "/mappings", mp("eid", "198.51.100.0/33"), 400, "invalid", "eid"},
		{"eid prefix text", "POST", "/mappings", mp("eid", "198.51.100.0/x"), 400, "invalid", "eid"},
		{"eid empty", "POST", "/mappings", mp("eid", ""), 400, "invalid", "eid"},
		{"eid zone", "POST", "/mappings", mp("eid", "fe80::1%eth0"), 400, "invalid", "eid"},
		{"eid number", "POST", "/mappings", `{"instance_id":4100,"eid":5,"site":"dc1"}`, 400, "invalid", "eid"},
		{"mapping no iid", "POST", "/mappings", mp("instance_id", nil), 400, "invalid", "instance_id"},
		{"mapping unknown iid", "POST", "/mappings", mp("instance_id", 99), 400, "invalid", "instance_id"},
		{"mapping iid range", "POST", "/mappings", mp("instance_id", 16777216), 400, "invalid", "instance_id"},
		{"mapping no site", "POST", "/mappings", mp("site", nil), 400, "invalid", "site"},
		{"mapping unknown site", "POST", "/mappings", mp("site", "nope"), 400, "invalid", "site"},
		{"mapping iid not served", "POST", "/mappings", mp("instance_id", 4200), 403, "forbidden", "instance_id"},
		{"mapping outside v4", "POST", "/mappings", mp("eid", "203.0.113.5"), 403, "forbidden", "eid"},
		{"mapping outside v6", "POST", "/mappings", mp("eid", "2001:db8:200::1"), 403, "forbidden", "eid"},
		{"mapping wider than site", "POST", "/mappings", mp("eid", "198.51.0.0/16"), 403, "forbidden", "eid"},
		{"rloc not address", "POST", "/mappings", mp("rlocs", rl(map[string]any{"address": "nope"})), 400, "invalid", "rlocs[0].address"},
		{"rloc missing address", "POST", "/mappings", mp("rlocs", rl(map[string]any{"priority": 1})), 400, "invalid", "rlocs[0].address"},
		{"rloc twice", "POST", "/mappings", mp("rlocs", rl(map[string]any{"address": "192.0.2.1"}, map[string]any{"address": "::ffff:192.0.2.1"})), 400, "invalid", "rlocs[1].address"},
		{"rloc multicast", "POST", "/mappings", mp("rlocs", rl(map[string]any{"address": "ff02::1"})), 400, "invalid", "rlocs[0].address"},
		{"rloc priority 256", "POST", "/mappings", mp("rlocs", rl(map[string]any{"address": "192.0.2.1", "priority": 256})), 400, "invalid", "rlocs[0].priority"},
		{"rloc priority -1", "POST", "/mappings", mp("rlocs", rl(map[string]any{"address": "192.0.2.1"}, map[string]any{"address": "192.0.2.2", "priority": -1})), 400, "invalid", "rlocs[1].priority"},
		{"rloc weight 300", "POST", "/mappings", mp("rlocs", rl(map[string]any{"address": "192.0.2.1", "weight": 300})), 400, "invalid", "rlocs[0].weight"},
		{"rloc weight text", "POST", "/mappings", mp("rlocs", rl(map[string]any{"address": "192.0.2.1", "weight": "1"})), 400, "invalid", "rlocs.weight"},
		{"rlocs not array", "POST", "/mappings", mp("rlocs", "192.0.2.1"), 400, "invalid", "rlocs"},
		{"rloc unknown field", "POST", "/mappings", mp("rlocs", rl(map[string]any{"address": "192.0.2.1", "prio": 1})), 400, "invalid", "*"},
		{"ttl negative", "POST", "/mappings", mp("ttl", -1), 400, "invalid", "ttl"},
		{"ttl over 32 bits", "POST", "/mappings", mp("ttl", 4294967296), 400, "invalid", "ttl"},
		{"ttl text", "POST", "/mappings", mp("ttl", "10"), 400, "invalid", "ttl"},
		{"mapping unknown field", "POST", "/mappings", mp("origin", "learned"), 400, "invalid", "origin"},
	}
}

// badQueries are bad query parameters of the mapping, lookup and event endpoints.
func badQueries() []badCase {
	return []badCase{
		{"delete no params", "DELETE", "/mappings", nil, 400, "invalid", "instance_id"},
		{"delete no eid", "DELETE", "/mappings?instance_id=4100", nil, 400, "invalid", "eid"},
		{"delete no iid", "DELETE", "/mappings?eid=02:00:00:00:00:01", nil, 400, "invalid", "instance_id"},
		{"delete iid text", "DELETE", "/mappings?instance_id=x&eid=02:00:00:00:00:01", nil, 400, "invalid", "instance_id"},
		{"delete bad eid", "DELETE", "/mappings?instance_id=4100&eid=zz", nil, 400, "invalid", "eid"},
		{"delete absent", "DELETE", "/mappings?instance_id=4100&eid=02:00:00:00:00:02", nil, 404, "not_found", "eid"},
		{"delete other iid", "DELETE", "/mappings?instance_id=4200&eid=02:00:00:00:00:01", nil, 404, "not_found", "eid"},
		{"clear dup no iid", "POST", "/mappings/duplicates/clear?eid=02:00:00:00:00:01", nil, 400, "invalid", "instance_id"},
		{"clear dup no eid", "POST", "/mappings/duplicates/clear?instance_id=4100", nil, 400, "invalid", "eid"},
		{"clear dup IP EID", "POST", "/mappings/duplicates/clear?instance_id=4100&eid=198.51.100.7", nil, 400, "invalid", "eid"},
		{"clear dup absent", "POST", "/mappings/duplicates/clear?instance_id=4100&eid=02:00:00:00:00:02", nil, 404, "not_found", "eid"},
		{"list limit 0", "GET", "/mappings?limit=0", nil, 400, "invalid", "limit"},
		{"list limit 1001", "GET", "/mappings?limit=1001", nil, 400, "invalid", "limit"},
		{"list offset -1", "GET", "/mappings?offset=-1", nil, 400, "invalid", "offset"},
		{"list iid text", "GET", "/mappings?instance_id=blue", nil, 400, "invalid", "instance_id"},
		{"list origin", "GET", "/mappings?origin=bogus", nil, 400, "invalid", "origin"},
		{"history no eid", "GET", "/mappings/history?instance_id=4100", nil, 400, "invalid", "eid"},
		{"history no iid", "GET", "/mappings/history?eid=02:00:00:00:00:01", nil, 400, "invalid", "instance_id"},
		{"history bad eid", "GET", "/mappings/history?instance_id=4100&eid=zz", nil, 400, "invalid", "eid"},
		{"lookup no iid", "GET", "/lookup?eid=198.51.100.7", nil, 400, "invalid", "instance_id"},
		{"lookup no eid", "GET", "/lookup?instance_id=4100", nil, 400, "invalid", "eid"},
		{"lookup bad eid", "GET", "/lookup?instance_id=4100&eid=zz", nil, 400, "invalid", "eid"},
		{"lookup iid range", "GET", "/lookup?instance_id=16777216&eid=198.51.100.7", nil, 400, "invalid", "instance_id"},
		{"events since text", "GET", "/events?since=x", nil, 400, "invalid", "since"},
		{"no such endpoint", "GET", "/nope", nil, 404, "not_found", ""},
	}
}

// TestBadInput sends each bad request and checks the answer, that the
// listings are unchanged and that the change feed did not grow.
func TestBadInput(t *testing.T) {
	e := newEnv(t)
	e.fixture()
	e.must("POST", "/api/v1/mappings", map[string]any{"instance_id": 4100, "eid": "02:00:00:00:00:01", "site": "dc1"}, 201, nil)
	before, last := e.snapshot(), e.lastEventID()
	for _, c := range badInputs() {
		status, b := e.request(c.method, "/api/v1"+c.path, admin, c.body)
		if len(b) > 300 {
			b = append(b[:300:300], "..."...)
		}
		checkError(t, c.name+": "+c.method+" "+c.path, status, b, c.status, c.code, c.field)
		if c.method == "GET" {
			continue
		}
		if after := e.snapshot(); after != before {
			t.Errorf("%s: the refused request changed the state:\nbefore %s\nafter  %s", c.name, before, after)
			before = after
		}
		if evs := e.eventsAfter(last); len(evs) != 0 {
			t.Errorf("%s: the refused request added events %v", c.name, eventTypes(evs))
			last = evs[len(evs)-1].ID
		}
	}
}

// TestAuth walks every route of the API with each kind of credential and
// every role: viewers read, operators also write, and only admins touch
// tokens.
func TestAuth(t *testing.T) {
	e := newEnv(t)
	e.fixture()
	operator := e.newToken("ops", "operator")
	viewer := e.newToken("watcher", "viewer")
	before, last := e.snapshot(), e.lastEventID()
	send := func(method, path, header string) int {
		req, err := http.NewRequest(method, e.srv.URL+path, strings.NewReader("{"))
		if err != nil {
			t.Fatal(err)
		}
		if header != "" {
			req.Header.Set("Authorization", header)
		}
		resp, err := e.srv.Client().Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		// Closing without reading also ends an event stream.
		resp.Body.Close()
		return resp.StatusCode
	}
	params := strings.NewReplacer(":instance_id", "99999", ":name", "nope", ":port", "nope")
	routes := 0
	for _, r := range e.api.Engine().Routes() {
		if !strings.HasPrefix(r.Path, "/api/v1/") || r.Path == "/api/v1/openapi.json" {
			continue
		}
		routes++
		path := params.Replace(r.Path)
		for _, c := range []struct {
			header string
			want   func(int) bool
			desc   string
		}{
			{"", func(s int) bool { return s == 401 }, "no token: 401"},
			{"Bearer ", func(s int) bool { return s == 401 }, "empty token: 401"},
			{"Bearer wrong-token", func(s int) bool { return s == 401 }, "unknown token: 401"},
			{"Basic " + admin, func(s int) bool { return s == 401 }, "not a bearer token: 401"},
			{"Bearer " + read, allowedFor(r.Method, r.Path, 1), "bootstrap viewer: reads but tokens, else 403"},
			{"Bearer " + viewer, allowedFor(r.Method, r.Path, 1), "viewer: reads but tokens, else 403"},
			{"Bearer " + operator, allowedFor(r.Method, r.Path, 2), "operator: all but tokens, else 403"},
			{"Bearer " + admin, allowedFor(r.Method, r.Path, 3), "admin token: allowed"},
		} {
			if s := send(r.Method, path, c.header); !c.want(s) {
				t.Errorf("%s %s with %q: status %d; want %s", r.Method, path, c.header, s, c.desc)
			}
		}
	}
	if routes < 23 {
		t.Errorf("only %d routes under /api/v1", routes)
	}
	// RFC 7235 §2.1: the auth scheme is case-insensitive.
	if s := send("GET", "/api/v1/networks", "bearer "+admin); s != 200 {
		t.Errorf("GET with \"bearer\" in lower case: %d, want 200", s)
	}
	if s := send("GET", "/api/v1/networks?access_token="+read, ""); s != 200 {
		t.Errorf("GET with ?access_token=read: %d, want 200", s)
	}
	if s := send("POST", "/api/v1/networks?access_token="+admin, ""); s != 401 {
		t.Errorf("POST with ?access_token=admin: %d, want 401 (query tokens are for GET only)", s)
	}
	for _, p := range []string{"/healthz", "/api/v1/openapi.json"} {
		if s := send("GET", p, ""); s != 200 {
			t.Errorf("GET %s without a token: %d, want 200", p, s)
		}
	}
	if after := e.snapshot(); after != before || e.lastEventID() != last {
		t.Errorf("the auth walk changed the state")
	}
}

// allowedFor says which status a token of rank (1 viewer, 2 operator,
// 3 admin) must get on a route: 403 when the route needs more, else
// neither 401 nor 403.
func allowedFor(method, path string, rank int) func(int) bool {
	need := 2
	switch {
	case strings.HasPrefix(path, "/api/v1/tokens"):
		need = 3
	case method == "GET":
		need = 1
	}
	return func(s int) bool {
		if rank < need {
			return s == 403
		}
		return s != 401 && s != 403
	}
}
