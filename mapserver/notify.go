package mapserver

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"time"

	"github.com/l2lisp/l2lisp/controller"
	"github.com/l2lisp/l2lisp/mapping"
	"github.com/l2lisp/l2lisp/mapserver/packet"
	"github.com/l2lisp/l2lisp/mapserver/udpio"
	"github.com/l2lisp/l2lisp/metrics"
)

// send starts waiting for the Acks of ps (first) and then sends their
// first copies in batches, so an Ack can never beat its entry to the table.
// An entry the full table does not take is sent once, untracked; a
// confirmation is not sent at all (its subscription could never be made).
func (ps *pubsub) send(pend []*pending) {
	now := time.Now()
	out := make([]udpio.Datagram, 0, min(len(pend), DefaultBatch))
	for _, p := range pend {
		p.next, p.sent = now.Add(ps.cfg.Interval), 1
		if !ps.pend.add(p) {
			if p.sub != nil {
				ps.refuseSub(subRefusedBusy, p.dsts[0], p.site, p.xtrID)
				continue
			}
			metrics.NotifyUntracked.Inc()
		}
		out = append(out, udpio.Datagram{Buf: p.msg, N: len(p.msg), Addr: ps.dst(p, 0)})
		if len(out) == cap(out) {
			ps.write(out)
			out = out[:0]
		}
	}
	ps.write(out)
}

// dst is where copy i of p goes: the ITR-RLOCs in turn (RFC 9437 §6).
func (ps *pubsub) dst(p *pending, i int) netip.AddrPort {
	to := p.dsts[i%len(p.dsts)]
	if udpio.SocketIs4(ps.s.conns[0]) {
		return netip.AddrPortFrom(to.Addr().Unmap(), to.Port())
	}
	if to.Addr().Is4() {
		return netip.AddrPortFrom(netip.AddrFrom16(to.Addr().As16()), to.Port())
	}
	return to
}

func (ps *pubsub) write(ds []udpio.Datagram) {
	ps.outMu.Lock()
	defer ps.outMu.Unlock()
	for len(ds) > 0 {
		n, err := ps.out.WriteBatch(ds)
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				ps.s.log.Debug("lisp: send map-notify", "err", err)
				dropped[dropSendFailed].Add(float64(len(ds)))
			}
			return
		}
		metrics.MapNotifies.Add(float64(n))
		if n == 0 {
			return
		}
		ds = ds[n:]
	}
}

// retransmit resends what is due and gives up after the last retry.
func (ps *pubsub) retransmit() {
	s := ps.s
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	var batch []*pending
	var out []udpio.Datagram
	for {
		var wait time.Duration
		batch, wait = ps.pend.due(time.Now(), batch[:0])
		if len(batch) == 0 {
			timer.Reset(wait)
			select {
			case <-s.ctx.Done():
				return
			case <-timer.C:
			case <-ps.pend.wake:
				if !timer.Stop() {
					<-timer.C
				}
			}
			continue
		}
		now := time.Now()
		out = out[:0]
		for _, p := range batch {
			if p.sent > ps.cfg.Retries {
				ps.giveUp(p)
				continue
			}
			out = append(out, udpio.Datagram{Buf: p.msg, N: len(p.msg), Addr: ps.dst(p, p.sent)})
			p.sent++
			retransmits[p.kind].Inc()
			ps.pend.reschedule(p, now.Add(ps.cfg.Interval))
		}
		for len(out) > 0 {
			n := min(len(out), DefaultBatch)
			ps.write(out[:n])
			out = out[n:]
		}
	}
}

// giveUp ends the wait for an Ack that did not come: counted, and raised
// as an event within the event budget.
func (ps *pubsub) giveUp(p *pending) {
	ps.pend.mu.Lock()
	forgot := ps.pend.forgetLocked(p)
	ps.pend.mu.Unlock()
	if !forgot {
		return // acknowledged at the last moment
	}
	giveUps[p.kind].Inc()
	if p.kind == kindSubscribe {
		subOutcomes[subRefusedUnacked].Inc()
	}
	data := map[string]string{"kind": kindNames[p.kind], "destination": p.dsts[0].String(),
		"copies": strconv.Itoa(p.sent), "nonce": fmt.Sprintf("%016x", p.nonce)}
	if p.xtrID != "" {
		data["xtr_id"] = p.xtrID
	}
	ps.event(feedEvent{typ: controller.EvNotifyUnacked, iid: p.iid, eid: p.eid, site: p.site, data: data})
}

// handleAck matches a Map-Notify-Ack to the Map-Notify it answers by nonce
// and checks its signature with the key that signed the Map-Notify.
func (r *reader) handleAck(b []byte, src netip.AddrPort) {
	ps := r.s.ps
	nonce, err := packet.PeekNonce(b)
	if err != nil {
		r.st.drop[dropMalformed]++
		return
	}
	p := ps.pend.match(nonce, src)
	if p == nil {
		ackResults[ackUnknown].Inc()
		return
	}
	if r.auth.get(p.key).Verify(b) != nil {
		ackResults[ackBadAuth].Inc()
		// A wrongly signed Ack to a confirmation is a subscriber that does
		// not hold its site's key: refused. Any other waits on, since a
		// forged Ack must not stop the retransmissions of a real notify.
		if p.sub != nil && ps.pend.remove(p) {
			ps.refuseSub(subRefusedAuth, src, p.site, p.xtrID)
		}
		return
	}
	if !ps.pend.remove(p) {
		return // a duplicate Ack
	}
	ackResults[ackOK].Inc()
	if p.sub != nil {
		select {
		case ps.acked <- p:
		default: // rare: the workers are behind
			r.s.wg.Add(1) // this reader is counted, so the group is not at zero
			go func() { defer r.s.wg.Done(); ps.commit(p) }()
		}
	}
}

// notifyMoved sends the notice to the xTR that lost an EID to another and
// waits for its Ack like any unsolicited Map-Notify.
func (ps *pubsub) notifyMoved(msg []byte, nonce uint64, to netip.AddrPort, old *mapping.Record, key string) {
	iid := old.EID.IID
	ps.send([]*pending{{nonce: nonce, kind: kindMoved, msg: msg, dsts: []netip.AddrPort{to}, key: key,
		site: old.Site, eid: old.EID.Address(), iid: &iid}})
}
