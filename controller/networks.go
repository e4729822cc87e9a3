package controller

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/l2lisp/l2lisp/pipeline"
	"github.com/l2lisp/l2lisp/store"
)

// NetworkInput is what an operator gives to create a network.
type NetworkInput struct {
	InstanceID     int64
	Name           string
	Encapsulation  string // "" is the default, lisp-gpe
	ForwardingMode string // "" is the default, push
	AutoThreshold  *int64 // nil: DefaultAutoThreshold
}

// NetworkChange is what may change of a network; nil fields stay as they are.
type NetworkChange struct {
	Encapsulation  *string
	ForwardingMode *string
	AutoThreshold  *int64
}

// validEncap checks an encapsulation name and returns its canonical form.
func validEncap(field, s string) (string, error) {
	e, err := pipeline.ParseEncap(s)
	if err != nil {
		return "", invalid(field, "encapsulation must be one of %v", pipeline.EncapNames())
	}
	return e.String(), nil
}

// CreateNetwork adds a tenant network with the default encapsulation.
func (c *Controller) CreateNetwork(ctx context.Context, iid int64, name string) (Network, error) {
	return c.AddNetwork(ctx, NetworkInput{InstanceID: iid, Name: name})
}

// AddNetwork adds a tenant network.
func (c *Controller) AddNetwork(ctx context.Context, in NetworkInput) (Network, error) {
	iid, name := in.InstanceID, in.Name
	if err := validIID("instance_id", iid); err != nil {
		return Network{}, err
	}
	if err := validName("name", name); err != nil {
		return Network{}, err
	}
	encap, err := validEncap("encapsulation", in.Encapsulation)
	if err != nil {
		return Network{}, err
	}
	mode, threshold, err := validForwarding(in.ForwardingMode, in.AutoThreshold)
	if err != nil {
		return Network{}, err
	}
	n := Network{InstanceID: uint32(iid), Name: name, Encapsulation: encap, ForwardingMode: mode,
		AutoThreshold: threshold, CreatedAt: time.Now().UTC()}
	err = c.write(ctx, func(tx *gorm.DB) ([]store.Event, error) {
		var count int64
		if err := tx.Model(&store.Network{}).Where("instance_id = ?", iid).Count(&count).Error; err != nil {
			return nil, fmt.Errorf("check network: %w", err)
		} else if count > 0 {
			return nil, conflict("instance_id", "a network with instance-id %d exists", iid)
		}
		if err := tx.Model(&store.Network{}).Where("name = ?", name).Count(&count).Error; err != nil {
			return nil, fmt.Errorf("check network: %w", err)
		} else if count > 0 {
			return nil, conflict("name", "a network named %q exists", name)
		}
		row := store.Network(n)
		if err := tx.Create(&row).Error; err != nil {
			return nil, fmt.Errorf("create network: %w", err)
		}
		ev := newEvent(EvNetworkCreated, n)
		ev.InstanceID = iidPtr(n.InstanceID)
		return []store.Event{ev}, nil
	})
	return n, err
}

// UpdateNetwork changes a network. A new encapsulation re-provisions the
// tunnel ports of the switches serving it and rewrites only its own flows
// (the reconciler follows the network.updated event); so does a new
// forwarding mode. Changing nothing records no event.
func (c *Controller) UpdateNetwork(ctx context.Context, iid uint32, ch NetworkChange) (Network, error) {
	var want Network
	if ch.Encapsulation != nil {
		var err error
		if want.Encapsulation, err = validEncap("encapsulation", *ch.Encapsulation); err != nil {
			return Network{}, err
		}
	}
	if ch.ForwardingMode != nil || ch.AutoThreshold != nil {
		mode := ""
		if ch.ForwardingMode != nil {
			mode = *ch.ForwardingMode
			if mode == "" {
				return Network{}, invalid("forwarding_mode", "forwarding_mode must be one of %v", ForwardingModes())
			}
		}
		var err error
		if want.ForwardingMode, want.AutoThreshold, err = validForwarding(mode, ch.AutoThreshold); err != nil {
			return Network{}, err
		}
	}
	var n Network
	err := c.write(ctx, func(tx *gorm.DB) ([]store.Event, error) {
		var row store.Network
		if err := tx.Where("instance_id = ?", iid).First(&row).Error; isNotFound(err) {
			return nil, notFound("instance_id", "no network with instance-id %d", iid)
		} else if err != nil {
			return nil, fmt.Errorf("find network: %w", err)
		}
		n = Network(row)
		set := map[string]any{}
		if ch.Encapsulation != nil && want.Encapsulation != n.Encapsulation {
			set["encapsulation"], n.Encapsulation = want.Encapsulation, want.Encapsulation
		}
		if ch.ForwardingMode != nil && want.ForwardingMode != n.ForwardingMode {
			set["forwarding_mode"], n.ForwardingMode = want.ForwardingMode, want.ForwardingMode
		}
		if ch.AutoThreshold != nil && want.AutoThreshold != n.AutoThreshold {
			set["auto_threshold"], n.AutoThreshold = want.AutoThreshold, want.AutoThreshold
		}
		if len(set) == 0 {
			return nil, nil
		}
		if err := tx.Model(&row).Updates(set).Error; err != nil {
			return nil, fmt.Errorf("update network: %w", err)
		}
		ev := newEvent(EvNetworkUpdated, n)
		ev.InstanceID = iidPtr(iid)
		return []store.Event{ev}, nil
	})
	return n, err
}

// DeleteNetwork removes a tenant network that nothing uses any more.
func (c *Controller) DeleteNetwork(ctx context.Context, iid uint32) error {
	return c.write(ctx, func(tx *gorm.DB) ([]store.Event, error) {
		var n store.Network
		if err := tx.Where("instance_id = ?", iid).First(&n).Error; isNotFound(err) {
			return nil, notFound("instance_id", "no network with instance-id %d", iid)
		} else if err != nil {
			return nil, fmt.Errorf("find network: %w", err)
		}
		var count int64
		if err := tx.Model(&store.Port{}).Where("instance_id = ?", iid).Count(&count).Error; err != nil {
			return nil, fmt.Errorf("check ports: %w", err)
		} else if count > 0 {
			return nil, conflict("instance_id", "%d access ports are bound to network %d; unbind them first", count, iid)
		}
		evs, err := deleteMappingsWhere(tx, "instance_id = ?", iid)
		if err != nil {
			return nil, err
		}
		siteEvs, err := dropNetworkFromSites(tx, iid)
		if err != nil {
			return nil, err
		}
		if err := tx.Delete(&n).Error; err != nil {
			return nil, fmt.Errorf("delete network: %w", err)
		}
		ev := newEvent(EvNetworkDeleted, Network(n))
		ev.InstanceID = iidPtr(iid)
		return append(append(evs, siteEvs...), ev), nil
	})
}

// dropNetworkFromSites removes a deleted instance-id from every site that
// served it, so re-creating the network later grants nobody access.
func dropNetworkFromSites(tx *gorm.DB, iid uint32) ([]store.Event, error) {
	var rows []store.Site
	if err := tx.Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("list sites: %w", err)
	}
	var evs []store.Event
	for _, r := range rows {
		s, err := siteFromRow(r)
		if err != nil {
			return nil, err
		}
		if !s.Serves(iid) {
			continue
		}
		kept := s.Networks[:0]
		for _, n := range s.Networks {
			if n != iid {
				kept = append(kept, n)
			}
		}
		s.Networks, s.UpdatedAt = kept, time.Now().UTC()
		row := siteToRow(s)
		if err := tx.Save(&row).Error; err != nil {
			return nil, fmt.Errorf("update site: %w", err)
		}
		ev := newEvent(EvSiteUpdated, s)
		ev.Site = s.Name
		evs = append(evs, ev)
	}
	return evs, nil
}
