package mapserver

import (
	"context"
	"sync"
	"time"

	"github.com/l2lisp/l2lisp/controller"
	"github.com/l2lisp/l2lisp/mapping"
)

// touchSet collects refreshed registrations (EID -> new expiry, in Unix
// seconds) until the next write-behind flush. Two maps alternate so the
// steady state reuses their storage.
type touchSet struct {
	mu    sync.Mutex
	m     map[mapping.EID]int64
	spare map[mapping.EID]int64
}

func newTouchSet() *touchSet {
	return &touchSet{m: map[mapping.EID]int64{}, spare: map[mapping.EID]int64{}}
}

func (t *touchSet) add(e mapping.EID, exp int64) {
	t.mu.Lock()
	if t.m[e] < exp {
		t.m[e] = exp
	}
	t.mu.Unlock()
}

// take swaps in the spare map and returns the filled one; give it back
// with recycle.
func (t *touchSet) take() map[mapping.EID]int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	m := t.m
	if t.spare == nil {
		t.spare = map[mapping.EID]int64{}
	}
	t.m, t.spare = t.spare, nil
	return m
}

func (t *touchSet) recycle(m map[mapping.EID]int64) {
	clear(m)
	t.mu.Lock()
	t.spare = m
	t.mu.Unlock()
}

// expiry is when a registration made at now lapses, rounded up to the
// second so the write-behind groups many EIDs per statement.
func (s *Server) expiry(now time.Time) int64 {
	return now.Add(s.cfg.RegistrationTTL + time.Second - 1).Unix()
}

// flushTouches persists the collected expiry refreshes.
func (s *Server) flushTouches(ctx context.Context) error {
	var out []controller.Touch
	for _, t := range s.touches {
		m := t.take()
		for e, exp := range m {
			out = append(out, controller.Touch{EID: e, Expires: time.Unix(exp, 0).UTC()})
		}
		t.recycle(m)
	}
	if len(out) == 0 {
		return nil
	}
	start := time.Now()
	err := s.ctl.TouchMappings(ctx, out)
	s.log.Debug("lisp: persisted registration refreshes", "count", len(out), "took", time.Since(start))
	return err
}

// maintain runs the write-behind flush and then the expiry sweep, in that
// order so that a refreshed registration is never swept for lack of its
// new expiry on disk. Every replica flushes what it received; only the
// leader sweeps. Another replica's refreshes reach the database within one
// flush interval (at most 10 s), far inside the registration TTL, so the
// leader does not sweep what a standby has just refreshed.
func (s *Server) maintain() {
	t := time.NewTicker(s.cfg.FlushInterval)
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
		}
		if err := s.flushTouches(s.ctx); err != nil {
			s.log.Warn("lisp: persist registration refreshes", "err", err)
			continue
		}
		if s.cfg.Leader != nil && !s.cfg.Leader() {
			continue // the leader expires registrations for every replica
		}
		n, err := s.ctl.ExpireRegistrations(s.ctx, time.Now())
		if err != nil {
			s.log.Warn("lisp: expire registrations", "err", err)
		} else if n > 0 {
			s.log.Info("lisp: registrations expired", "count", n)
		}
	}
}
