package mapserver

import (
	"crypto/rand"
	"encoding/binary"
	"net/netip"
	"time"

	"github.com/l2lisp/l2lisp/controller"
	"github.com/l2lisp/l2lisp/mapping"
	"github.com/l2lisp/l2lisp/mapserver/packet"
)

// workerQueue is how many changing registrations may wait per worker
// before more are dropped (the xTR retries; RFC 9301 §8.2).
const workerQueue = 256

// regJob is an authenticated Map-Register that changes a record.
type regJob struct {
	raw  []byte // a private copy of the datagram
	src  netip.AddrPort
	site string
	key  string
}

// enqueue hands a job to the worker of its first EID, so that changes to
// one EID are written in the order they arrived.
func (s *Server) enqueue(r *reader, j regJob, first mapping.EID) {
	q := s.jobs[eidHash(first)%uint64(len(s.jobs))]
	select {
	case q <- j:
	default:
		r.st.drop[dropQueueFull]++
	}
}

func eidHash(e mapping.EID) uint64 {
	h := uint64(e.IID)*0x9e3779b97f4a7c15 ^ binary.LittleEndian.Uint64(append(e.MAC[:], 0, 0))
	if e.Prefix.IsValid() {
		b := e.Prefix.Addr().As16()
		h ^= binary.LittleEndian.Uint64(b[:8])*0xff51afd7ed558ccd ^ binary.LittleEndian.Uint64(b[8:]) ^ uint64(e.Prefix.Bits())
	}
	h ^= h >> 29
	return h * 0xbf58476d1ce4e5b9 >> 32
}

func (s *Server) startWorkers() {
	s.jobs = make([]chan regJob, s.cfg.Workers)
	for i := range s.jobs {
		s.jobs[i] = make(chan regJob, workerQueue)
		w := &worker{s: s, id: i, auth: authCache{}, touch: s.touches[len(s.touches)-1]}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			for {
				select {
				case <-s.ctx.Done():
					return
				case j := <-s.jobs[i]:
					w.do(j)
				}
			}
		}()
	}
}

// worker writes registrations through the controller; SaveMapping waits
// for the group commit, so many workers keep many changes in one commit.
type worker struct {
	s     *Server
	id    int
	auth  authCache
	touch *touchSet
	reg   packet.MapRegister
	buf   []byte
	n     packet.MapNotify
}

func (w *worker) do(j regJob) {
	if err := w.reg.Decode(j.raw); err != nil {
		return
	}
	now := time.Now()
	exp := w.s.expiry(now)
	xtr := j.src.Addr().Unmap().String()
	ok := true
	for i := range w.reg.Records {
		if !w.save(&w.reg.Records[i], j, xtr, exp) {
			ok = false
		}
	}
	if ok && w.reg.WantMapNotify {
		if b, good := buildNotify(w.buf[:0], &w.n, &w.reg, w.auth.get(j.key)); good {
			w.buf = b
			w.s.sendTo(w.id, b, j.src)
			outcomesNotify()
		}
	}
}

// save stores one record (or only refreshes it) and notifies the xTR that
// registered it before, if another one takes it over.
func (w *worker) save(pr *packet.Record, j regJob, xtr string, exp int64) bool {
	eid, good := recordEID(pr)
	if !good {
		return false
	}
	rec := mapping.Record{EID: eid, TTL: pr.TTL, Origin: mapping.OriginRegistered, Site: j.site,
		XTR: xtr, NoProxy: !w.reg.ProxyReply, Locators: make([]mapping.Locator, len(pr.Locators))}
	for i, l := range pr.Locators {
		rec.Locators[i] = mapping.Locator{Addr: l.Addr.IP.Unmap(), Priority: l.Priority, Weight: l.Weight, Up: l.Reachable}
	}
	idx := w.s.ctl.Index()
	old, had := idx.Get(eid)
	if had && sameRegistration(&old, pr, j.site, rec.NoProxy) && old.XTR == xtr {
		w.touch.add(eid, exp)
		outcomes[regRefreshed].Inc()
		return true
	}
	_, created, err := w.s.ctl.SaveMapping(w.s.ctx, rec, controller.SaveOptions{Expires: time.Unix(exp, 0)})
	if err != nil {
		outcomes[regFailed].Inc()
		w.s.log.Warn("lisp: store registration", "eid", eid, "site", j.site, "err", err)
		return false
	}
	switch {
	case created:
		outcomes[regCreated].Inc()
	case old.Site != j.site:
		outcomes[regMoved].Inc()
	default:
		outcomes[regUpdated].Inc()
	}
	if had && old.Origin == mapping.OriginRegistered && old.XTR != "" && old.XTR != xtr {
		w.notifyMoved(&old, pr)
	}
	return true
}

// notifyMoved tells the xTR that registered old that the EID now lives
// elsewhere: an unsolicited Map-Notify with the new record, signed with
// the old site's key, to its control port, retransmitted until it is
// acknowledged (RFC 9301 §5.7).
func (w *worker) notifyMoved(old *mapping.Record, pr *packet.Record) {
	to, err := netip.ParseAddr(old.XTR)
	if err != nil {
		return
	}
	site, ok := w.s.sites.get(time.Now()).byName(old.Site)
	if !ok {
		return
	}
	var nonce [8]byte
	_, _ = rand.Read(nonce[:])
	alg := w.reg.AlgID
	w.n = packet.MapNotify{Nonce: binary.BigEndian.Uint64(nonce[:]), AlgID: alg, Records: []packet.Record{*pr}}
	b, err := w.n.Append(w.buf[:0])
	if err != nil || w.auth.get(site.AuthKey).Sign(b, alg) != nil {
		return
	}
	w.buf = b
	w.s.ps.notifyMoved(append([]byte(nil), b...), w.n.Nonce, netip.AddrPortFrom(to, w.s.cfg.ETRPort), old, site.AuthKey)
}
