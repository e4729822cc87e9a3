package reconcile

import (
	"context"
	"path"
	"strings"
	"time"

	"github.com/l2lisp/l2lisp/controller"
	"github.com/l2lisp/l2lisp/pipeline"
	"github.com/l2lisp/l2lisp/pki"
	"github.com/l2lisp/l2lisp/southbound/ovsdb"
)

// Names of the tunnel ports, one per encapsulation in use on a bridge.
const (
	TunnelPortName = "lisp0"  // LISP-GPE (RFC 9305), UDP 4341
	VXLANPortName  = "vxlan0" // VXLAN (RFC 7348), UDP 4789
)

// provisionTimeout bounds one OVSDB call on behalf of one xTR.
const provisionTimeout = 10 * time.Second

// provision hands an xTR's desired bridge to the OVSDB provisioner, or
// removes a deleted xTR's bridge, within provisionTimeout.
func (r *Reconciler) provision(ctx context.Context, name string) {
	if r.Prov == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, provisionTimeout)
	defer cancel()
	x, err := r.Ctl.XTR(name)
	if err != nil {
		if err := r.Prov.Delete(ctx, name); err != nil {
			r.Log.Warn("remove xTR from switch", "xtr", name, "err", err)
		}
		return
	}
	if x.OVSDB == "" {
		return
	}
	if err := r.Prov.Ensure(ctx, name, x.OVSDB, r.desired(x)); err != nil {
		r.Log.Warn("provision xTR", "xtr", name, "err", err)
	}
}

func (r *Reconciler) desired(x controller.XTR) ovsdb.Desired {
	target := x.OpenFlowTarget
	if target == "" {
		target = r.DefaultTarget
	}
	d := ovsdb.Desired{Bridge: x.Bridge, DatapathType: x.DatapathType, DatapathID: x.DatapathID,
		Tunnels: r.tunnels(x.Name), LocalRLOC: x.RLOC}
	if target != "" {
		// Every replica configures the same list, so they never undo each
		// other's OVSDB writes.
		d.Controllers = strings.Split(target, ",")
	}
	d.SSL = switchSSL(x, d.Controllers)
	ports, _ := r.Ctl.Ports(x.Name)
	for _, p := range ports {
		d.AccessPorts = append(d.AccessPorts, ovsdb.AccessPort{Name: p.Name, OFPort: int(p.OFPort)})
	}
	r.desiredBFD(&d, x.Name)
	return d
}

// switchSSL is the SSL table an xTR's switch needs for its controller
// targets: the files of its TLS directory when any target is ssl:, else
// nil, which leaves the switch's SSL settings alone.
func switchSSL(x controller.XTR, targets []string) *ovsdb.SSL {
	for _, t := range targets {
		if strings.HasPrefix(t, "ssl:") {
			dir := x.TLSDir
			if dir == "" {
				dir = controller.DefaultTLSDir
			}
			return &ovsdb.SSL{PrivateKey: path.Join(dir, pki.BundleKey), Certificate: path.Join(dir, pki.BundleCert),
				CACert: path.Join(dir, pki.BundleCA)}
		}
	}
	return nil
}

// tunnels are the tunnel ports of the encapsulations the networks of an
// xTR's site use, with the port numbers the pipeline's flows name. A port
// no network uses any more is removed by the provisioner.
func (r *Reconciler) tunnels(name string) []ovsdb.Tunnel {
	v, ok := r.Ctl.BaseView(name)
	if !ok {
		return nil
	}
	used := map[pipeline.Encap]bool{}
	for _, iid := range v.Networks {
		used[v.Encaps[iid]] = true
	}
	var out []ovsdb.Tunnel
	if used[pipeline.EncapLISPGPE] {
		out = append(out, ovsdb.Tunnel{Name: TunnelPortName, OFPort: int(v.TunnelPort),
			DstPort: ovsdb.LISPDataPort, GPE: true})
	}
	if used[pipeline.EncapVXLAN] {
		out = append(out, ovsdb.Tunnel{Name: VXLANPortName, OFPort: int(v.VXLANPort), DstPort: ovsdb.VXLANDataPort})
	}
	return out
}
