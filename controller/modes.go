package controller

import (
	"time"

	"github.com/l2lisp/l2lisp/pipeline"
)

// Forwarding modes of a network. push and on-demand are the pipeline's
// (pipeline.Mode); auto picks one of them from the network's size.
const (
	ModePush     = "push"
	ModeOnDemand = "on-demand"
	ModeAuto     = "auto"
)

// DefaultAutoThreshold is the host count above which an auto network
// forwards on demand, unless the network names another.
const DefaultAutoThreshold = 10000

// maxAutoThreshold bounds auto_threshold (a billion hosts).
const maxAutoThreshold = 1_000_000_000

// autoEvery is how long an auto network's mode holds before its size is
// looked at again: a network whose host count hovers around its threshold
// changes mode (and has every switch serving it recompiled) at most this
// often.
const autoEvery = 10 * time.Second

// ForwardingModes lists the valid mode names, the default first.
func ForwardingModes() []string { return []string{ModePush, ModeOnDemand, ModeAuto} }

// validForwarding checks a mode name and threshold and returns their
// canonical values ("" is push, nil the default threshold).
func validForwarding(mode string, threshold *int64) (string, int64, error) {
	switch mode {
	case "":
		mode = ModePush
	case ModePush, ModeOnDemand, ModeAuto:
	default:
		return "", 0, invalid("forwarding_mode", "forwarding_mode must be one of %v", ForwardingModes())
	}
	t := int64(DefaultAutoThreshold)
	if threshold != nil {
		if *threshold < 0 || *threshold > maxAutoThreshold {
			return "", 0, invalid("auto_threshold", "auto_threshold must be 0-%d hosts", maxAutoThreshold)
		}
		t = *threshold
	}
	return mode, t, nil
}

// autoState is an auto network's mode as last decided.
type autoState struct {
	mode pipeline.Mode
	at   time.Time
}

// Mode is the forwarding mode network iid has now: its own, or for an
// auto network on-demand while it holds more hosts (MAC EIDs) than its
// threshold. A network that does not exist pushes.
func (c *Controller) Mode(iid uint32) pipeline.Mode {
	c.mu.RLock()
	n, ok := c.networks[iid]
	c.mu.RUnlock()
	if !ok {
		return pipeline.ModePush
	}
	switch n.ForwardingMode {
	case ModeOnDemand:
		return pipeline.ModeOnDemand
	case ModeAuto:
		return c.autoMode(iid, n.AutoThreshold, time.Now())
	}
	return pipeline.ModePush
}

func (c *Controller) autoMode(iid uint32, threshold int64, now time.Time) pipeline.Mode {
	c.autoMu.Lock()
	defer c.autoMu.Unlock()
	if st, ok := c.auto[iid]; ok && now.Sub(st.at) < autoEvery {
		return st.mode
	}
	m := pipeline.ModePush
	if int64(c.idx.MACs(iid)) > threshold {
		m = pipeline.ModeOnDemand
	}
	if c.auto == nil {
		c.auto = map[uint32]autoState{}
	}
	c.auto[iid] = autoState{mode: m, at: now}
	return m
}

// Modes is the forwarding mode of every network that does not push.
func (c *Controller) Modes() map[uint32]pipeline.Mode {
	out := map[uint32]pipeline.Mode{}
	for _, n := range c.Networks() {
		if m := c.Mode(n.InstanceID); m != pipeline.ModePush {
			out[n.InstanceID] = m
		}
	}
	return out
}
