package controller

import (
	"context"
	"fmt"
	"net/netip"
	"path"
	"regexp"
	"time"

	"gorm.io/gorm"

	"github.com/l2lisp/l2lisp/pipeline"
	"github.com/l2lisp/l2lisp/store"
)

// XTRInput is what an operator gives to register an edge switch.
type XTRInput struct {
	Site           string
	Name           string
	RLOC           string
	OVSDB          string
	Bridge         string
	DatapathType   string
	OpenFlowTarget string
	TLSDir         string
	Priority       *int64
	Weight         *int64
}

var ovsdbRE = regexp.MustCompile(`^(unix:/.+|(tcp|ssl):.+:[0-9]{1,5})$`)

// DefaultTLSDir is where an xTR's switch host keeps its TLS files unless
// the xTR says otherwise: key.pem, cert.pem and ca.pem, as l2lisp pki issue
// writes them.
const DefaultTLSDir = "/etc/openvswitch/l2lisp"

var tlsDirRE = regexp.MustCompile(`^/[A-Za-z0-9._/+-]{0,254}$`)

func validTLSDir(dir string) error {
	if !tlsDirRE.MatchString(dir) || path.Clean(dir) != dir {
		return invalid("tls_dir", "want an absolute, clean directory path of letters, digits and . _ / + -")
	}
	return nil
}

func (in XTRInput) validate() (XTR, error) {
	x := XTR{Site: in.Site, Name: in.Name, OVSDB: in.OVSDB, Bridge: in.Bridge,
		DatapathType: in.DatapathType, OpenFlowTarget: in.OpenFlowTarget, TLSDir: in.TLSDir, Priority: 1, Weight: 100}
	if err := validName("name", in.Name); err != nil {
		return x, err
	}
	a, err := netip.ParseAddr(in.RLOC)
	if err != nil || a.Zone() != "" || a.IsUnspecified() || a.IsMulticast() {
		return x, invalid("rloc", "%q is not a unicast IPv4 or IPv6 address", in.RLOC)
	}
	x.RLOC = a.Unmap()
	if in.OVSDB != "" && !ovsdbRE.MatchString(in.OVSDB) {
		return x, invalid("ovsdb", "want unix:/path, tcp:host:port or ssl:host:port")
	}
	if x.Bridge == "" {
		x.Bridge = "br-int"
	}
	if err := validName("bridge", x.Bridge); err != nil {
		return x, err
	}
	switch x.DatapathType {
	case "", "system", "netdev":
	default:
		return x, invalid("datapath_type", "want system or netdev")
	}
	if in.OpenFlowTarget != "" && !ovsdbRE.MatchString(in.OpenFlowTarget) {
		return x, invalid("openflow_target", "want tcp:host:port, ssl:host:port or unix:/path")
	}
	if x.TLSDir == "" {
		x.TLSDir = DefaultTLSDir
	}
	if err := validTLSDir(x.TLSDir); err != nil {
		return x, err
	}
	if in.Priority != nil {
		if *in.Priority < 0 || *in.Priority > 255 {
			return x, invalid("priority", "must be 0-255")
		}
		x.Priority = uint8(*in.Priority)
	}
	if in.Weight != nil {
		if *in.Weight < 0 || *in.Weight > 255 {
			return x, invalid("weight", "must be 0-255")
		}
		x.Weight = uint8(*in.Weight)
	}
	return x, nil
}

// CreateXTR registers an edge switch of a site.
func (c *Controller) CreateXTR(ctx context.Context, in XTRInput) (XTR, error) {
	x, err := in.validate()
	if err != nil {
		return x, err
	}
	x.CreatedAt = time.Now().UTC()
	x.DatapathID = newDatapathID()
	err = c.write(ctx, func(tx *gorm.DB) ([]store.Event, error) {
		var count int64
		if err := tx.Model(&store.Site{}).Where("name = ?", x.Site).Count(&count).Error; err != nil {
			return nil, fmt.Errorf("check site: %w", err)
		} else if count == 0 {
			return nil, notFound("site", "no site named %q", x.Site)
		}
		if err := tx.Model(&store.XTR{}).Where("name = ?", x.Name).Count(&count).Error; err != nil {
			return nil, fmt.Errorf("check xtr: %w", err)
		} else if count > 0 {
			return nil, conflict("name", "an xTR named %q exists", x.Name)
		}
		if err := tx.Model(&store.XTR{}).Where("rloc = ?", x.RLOC.String()).Count(&count).Error; err != nil {
			return nil, fmt.Errorf("check rloc: %w", err)
		} else if count > 0 {
			return nil, conflict("rloc", "another xTR has RLOC %s", x.RLOC)
		}
		port, err := freeBFDOFPort(tx)
		if err != nil {
			return nil, err
		}
		x.BFDOFPort = port
		row := xtrToRow(x)
		if err := tx.Create(&row).Error; err != nil {
			return nil, fmt.Errorf("create xtr: %w", err)
		}
		ev := newEvent(EvXTRCreated, x)
		ev.Site, ev.XTR = x.Site, x.Name
		return []store.Event{ev}, nil
	})
	return x, err
}

// DeleteXTR removes an edge switch and its port bindings.
func (c *Controller) DeleteXTR(ctx context.Context, name string) error {
	return c.write(ctx, func(tx *gorm.DB) ([]store.Event, error) {
		var row store.XTR
		if err := tx.Where("name = ?", name).First(&row).Error; isNotFound(err) {
			return nil, notFound("name", "no xTR named %q", name)
		} else if err != nil {
			return nil, fmt.Errorf("find xtr: %w", err)
		}
		var ports []store.Port
		if err := tx.Where("xtr = ?", name).Find(&ports).Error; err != nil {
			return nil, fmt.Errorf("list ports: %w", err)
		}
		if len(ports) > 0 {
			return nil, conflict("name", "xTR %q still has %d bound ports; unbind them first", name, len(ports))
		}
		if err := tx.Delete(&row).Error; err != nil {
			return nil, fmt.Errorf("delete xtr: %w", err)
		}
		x, _ := xtrFromRow(row)
		ev := newEvent(EvXTRDeleted, x)
		ev.Site, ev.XTR = row.Site, name
		return []store.Event{ev}, nil
	})
}

// BindPort attaches an access port of an xTR to a tenant network. The port
// gets a fixed OpenFlow port number, requested from OVS through OVSDB.
func (c *Controller) BindPort(ctx context.Context, xtr, name string, iid int64) (Port, error) {
	if err := validName("name", name); err != nil {
		return Port{}, err
	}
	if len(name) > 15 {
		return Port{}, invalid("name", "an interface name has at most 15 characters")
	}
	if err := validIID("instance_id", iid); err != nil {
		return Port{}, err
	}
	p := Port{XTR: xtr, Name: name, InstanceID: uint32(iid), CreatedAt: time.Now().UTC()}
	err := c.write(ctx, func(tx *gorm.DB) ([]store.Event, error) {
		var x store.XTR
		if err := tx.Where("name = ?", xtr).First(&x).Error; isNotFound(err) {
			return nil, notFound("xtr", "no xTR named %q", xtr)
		} else if err != nil {
			return nil, fmt.Errorf("find xtr: %w", err)
		}
		var s store.Site
		if err := tx.Where("name = ?", x.Site).First(&s).Error; err != nil {
			return nil, fmt.Errorf("find site: %w", err)
		}
		site, err := siteFromRow(s)
		if err != nil {
			return nil, err
		}
		if !site.Serves(p.InstanceID) {
			return nil, forbidden("instance_id", "site %q does not serve instance-id %d", site.Name, iid)
		}
		var ports []store.Port
		if err := tx.Where("xtr = ?", xtr).Find(&ports).Error; err != nil {
			return nil, fmt.Errorf("list ports: %w", err)
		}
		used := map[uint32]bool{}
		for _, q := range ports {
			if q.Name == name {
				return nil, conflict("name", "port %q is already bound on %s", name, xtr)
			}
			used[q.OFPort] = true
		}
		p.OFPort = pipeline.FirstAccessOFPort
		for used[p.OFPort] {
			p.OFPort++
		}
		if p.OFPort >= pipeline.FirstBFDOFPort {
			return nil, conflict("name", "xTR %q has no free OpenFlow port number left", xtr)
		}
		row := store.Port(p)
		if err := tx.Create(&row).Error; err != nil {
			return nil, fmt.Errorf("bind port: %w", err)
		}
		ev := newEvent(EvPortBound, p)
		ev.InstanceID, ev.Site, ev.XTR = iidPtr(p.InstanceID), x.Site, xtr
		return []store.Event{ev}, nil
	})
	return p, err
}

// UnbindPort detaches an access port.
func (c *Controller) UnbindPort(ctx context.Context, xtr, name string) error {
	return c.write(ctx, func(tx *gorm.DB) ([]store.Event, error) {
		var row store.Port
		if err := tx.Where("xtr = ? AND name = ?", xtr, name).First(&row).Error; isNotFound(err) {
			return nil, notFound("port", "no port %q on xTR %q", name, xtr)
		} else if err != nil {
			return nil, fmt.Errorf("find port: %w", err)
		}
		if err := tx.Delete(&row).Error; err != nil {
			return nil, fmt.Errorf("unbind port: %w", err)
		}
		ev := newEvent(EvPortUnbound, Port(row))
		ev.InstanceID, ev.XTR = iidPtr(row.InstanceID), xtr
		return []store.Event{ev}, nil
	})
}

// PortByOFPort finds the bound access port with OpenFlow number n.
func (c *Controller) PortByOFPort(xtr string, n uint32) (Port, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	for _, p := range c.ports[xtr] {
		if p.OFPort == n {
			return p, true
		}
	}
	return Port{}, false
}
