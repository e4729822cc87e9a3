package ovsdb

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ovn-kubernetes/libovsdb/client"
	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/l2lisp/l2lisp/southbound/ovsdb/vswitchd"
)

// cacheWait bounds how long Apply waits for its own transaction to show up
// in the monitor cache, so that the next Apply plans from fresh data.
const cacheWait = 5 * time.Second

// Apply makes the switch hold exactly d, in one transaction. It returns
// what it changed; an empty Changes means the switch already matched.
// Rows that exist but were not created by this owner are never modified:
// a foreign bridge of the same name, or a desired port name in use on
// another bridge, is an error wrapping ErrNotOwned.
func (c *Client) Apply(ctx context.Context, d Desired) (Changes, error) {
	if err := d.Validate(); err != nil {
		return nil, err
	}
	plan := func(s *snapshot) ([]ovsdb.Operation, Changes, error) {
		return planApply(s, d, c.opts.owner)
	}
	changes, err := c.run(ctx, plan)
	if err != nil {
		return nil, fmt.Errorf("apply bridge %s: %w", d.Bridge, err)
	}
	if len(changes) > 0 {
		c.log.Info("applied desired state", "bridge", d.Bridge, "changes", changes.String())
	}
	return changes, nil
}

// Remove deletes bridge d.Bridge with its ports, if this owner created it.
// A missing bridge is not an error. Only d.Bridge is read from d.
func (c *Client) Remove(ctx context.Context, d Desired) error {
	if err := checkName("bridge", d.Bridge); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidDesired, err)
	}
	plan := func(s *snapshot) ([]ovsdb.Operation, Changes, error) {
		return planRemove(s, d, c.opts.owner)
	}
	changes, err := c.run(ctx, plan)
	if err != nil {
		return fmt.Errorf("remove bridge %s: %w", d.Bridge, err)
	}
	if len(changes) > 0 {
		c.log.Info("removed bridge", "bridge", d.Bridge, "changes", changes.String())
	}
	return nil
}

// run plans from the cache, commits the plan and waits until the cache
// reflects it (planning again yields nothing).
func (c *Client) run(ctx context.Context, plan func(*snapshot) ([]ovsdb.Operation, Changes, error)) (Changes, error) {
	c.applyMu.Lock()
	defer c.applyMu.Unlock()
	ovs, err := c.current()
	if err != nil {
		return nil, err
	}
	s, err := readSnapshot(ctx, ovs)
	if err != nil {
		return nil, err
	}
	ops, changes, err := plan(s)
	if err != nil || len(ops) == 0 {
		return nil, err
	}
	if err := transact(ctx, ovs, ops); err != nil {
		return nil, err
	}
	c.awaitCache(ctx, ovs, plan)
	return changes, nil
}

func transact(ctx context.Context, ovs client.Client, ops []ovsdb.Operation) error {
	results, err := ovs.Transact(ctx, ops...)
	if errors.Is(err, client.ErrNotConnected) {
		return fmt.Errorf("transact: %w", ErrNotConnected)
	}
	if err != nil {
		return fmt.Errorf("transact: %w", err)
	}
	opErrs, err := ovsdb.CheckOperationResults(results, ops)
	if err != nil {
		for _, e := range opErrs {
			err = fmt.Errorf("%w; %w", err, e)
		}
		return fmt.Errorf("transaction failed: %w", err)
	}
	return nil
}

// awaitCache waits, briefly, until the monitor has delivered the effect of
// our transaction. ovsdb-server normally sends the update before the reply,
// so the first check usually succeeds; a concurrent change by hand can keep
// it from ever succeeding, which is why the wait is bounded.
func (c *Client) awaitCache(ctx context.Context, ovs client.Client,
	plan func(*snapshot) ([]ovsdb.Operation, Changes, error)) {
	deadline := time.Now().Add(cacheWait)
	for i := 0; ; i++ {
		s, err := readSnapshot(ctx, ovs)
		if err != nil {
			return
		}
		if ops, _, err := plan(s); err == nil && len(ops) == 0 {
			if i > 0 {
				c.log.Debug("cache caught up", "checks", i+1)
			}
			return
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			c.log.Debug("cache did not converge after transaction")
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// readSnapshot copies the monitored tables out of the cache.
func readSnapshot(ctx context.Context, ovs client.Client) (*snapshot, error) {
	s := newSnapshot()
	var roots []*vswitchd.OpenvSwitch
	var bridges []*vswitchd.Bridge
	var ports []*vswitchd.Port
	var ifaces []*vswitchd.Interface
	var ctrls []*vswitchd.Controller
	var ssls []*vswitchd.SSL
	for _, list := range []any{&roots, &bridges, &ports, &ifaces, &ctrls, &ssls} {
		if err := ovs.List(ctx, list); err != nil {
			return nil, fmt.Errorf("read cache: %w", err)
		}
	}
	if len(roots) > 0 {
		s.root = roots[0]
	}
	for _, b := range bridges {
		s.bridges[b.UUID] = b
	}
	for _, p := range ports {
		s.ports[p.UUID] = p
	}
	for _, i := range ifaces {
		s.ifaces[i.UUID] = i
	}
	for _, ct := range ctrls {
		s.controllers[ct.UUID] = ct
	}
	for _, r := range ssls {
		s.ssl[r.UUID] = r
	}
	return s, nil
}
