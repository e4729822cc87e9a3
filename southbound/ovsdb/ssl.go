package ovsdb

import (
	"fmt"
	"path"

	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/l2lisp/l2lisp/southbound/ovsdb/vswitchd"
)

// SSL is the key, certificate and CA certificate ovs-vswitchd uses for
// ssl: controller targets: paths of PEM files on the switch host, kept in
// the Open_vSwitch database's one SSL row.
type SSL struct {
	PrivateKey  string
	Certificate string
	CACert      string
}

func (s SSL) validate() error {
	for _, f := range []struct{ name, path string }{
		{"private key", s.PrivateKey}, {"certificate", s.Certificate}, {"CA certificate", s.CACert},
	} {
		if !path.IsAbs(f.path) || path.Clean(f.path) != f.path {
			return fmt.Errorf("SSL %s %q: want an absolute, clean path", f.name, f.path)
		}
	}
	return nil
}

func (s SSL) matches(r *vswitchd.SSL) bool {
	return r.PrivateKey == s.PrivateKey && r.Certificate == s.Certificate && r.CaCert == s.CACert
}

// planSSL makes the switch's SSL row hold want. A row someone else made
// (ovs-vsctl set-ssl, often for ovsdb-server's own TLS) is left alone when
// it already names the same files and refused otherwise: rewriting it
// could cut the very connection we provision over.
func (p *planner) planSSL(want *SSL) error {
	if want == nil {
		return nil
	}
	var cur *vswitchd.SSL
	if p.s.root.SSL != nil {
		cur = p.s.ssl[*p.s.root.SSL]
	}
	switch {
	case cur != nil && want.matches(cur):
		return nil
	case cur != nil && cur.ExternalIDs[OwnerKey] != p.owner:
		return fmt.Errorf("SSL settings (key %s) %w; make them name %s, %s and %s, or clear them (ovs-vsctl del-ssl)",
			cur.PrivateKey, ErrNotOwned, want.PrivateKey, want.Certificate, want.CACert)
	case cur != nil:
		p.add(ovsdb.Operation{
			Op: ovsdb.OperationUpdate, Table: vswitchd.SSLTable, Where: whereUUID(cur.UUID),
			Row: ovsdb.Row{"private_key": want.PrivateKey, "certificate": want.Certificate, "ca_cert": want.CACert},
		}, Change{Op: "update", Table: vswitchd.SSLTable, Name: want.Certificate, Detail: "private_key,certificate,ca_cert"})
		return nil
	}
	name := p.newName()
	p.add(ovsdb.Operation{
		Op: ovsdb.OperationInsert, Table: vswitchd.SSLTable, UUIDName: name,
		Row: ovsdb.Row{
			"private_key": want.PrivateKey, "certificate": want.Certificate, "ca_cert": want.CACert,
			"external_ids": strMap(map[string]string{OwnerKey: p.owner}),
		},
	}, Change{Op: "insert", Table: vswitchd.SSLTable, Name: want.Certificate})
	p.ops = append(p.ops, ovsdb.Operation{
		Op: ovsdb.OperationUpdate, Table: vswitchd.OpenvSwitchTable, Where: whereUUID(p.s.root.UUID),
		Row: ovsdb.Row{"ssl": set(ref(name))},
	})
	return nil
}
