package mapserver

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
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
		w := &worker{s: s, id: i, auth: newAuthCache(workerAuthKeys), touch: s.touches[len(s.touches)-1]}
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
	var recs []mapping.Record
	var prs []*packet.Record
	var refreshed []mapping.EID
	idx := w.s.ctl.Index()
	for i := range w.reg.Records {
		pr := &w.reg.Records[i]
		rec, ok := registeredRecord(pr, j.site, xtr, !w.reg.ProxyReply)
		if !ok {
			return // the reader checked the records; a changed datagram is not ours
		}
		if old, had := idx.Get(rec.EID); had && sameRegistration(&old, pr, j.site, rec.NoProxy) && old.XTR == xtr {
			refreshed = append(refreshed, rec.EID)
			continue
		}
		recs, prs = append(recs, rec), append(prs, pr)
	}
	if !w.store(j, recs, prs, exp) {
		return
	}
	for _, e := range refreshed {
		w.touch.add(e, exp)
	}
	outcomes[regRefreshed].Add(float64(len(refreshed)))
	if w.reg.WantMapNotify {
		if b, good := buildNotify(w.buf[:0], &w.n, &w.reg, w.auth.get(j.key)); good {
			w.buf = b
			w.s.sendTo(w.id, b, j.src)
			outcomesNotify()
		}
	}
}

// registeredRecord is the mapping record of one registered record.
func registeredRecord(pr *packet.Record, site, xtr string, noProxy bool) (mapping.Record, bool) {
	eid, good := recordEID(pr)
	if !good {
		return mapping.Record{}, false
	}
	rec := mapping.Record{EID: eid, TTL: pr.TTL, Origin: mapping.OriginRegistered, Site: site,
		XTR: xtr, NoProxy: noProxy, Locators: make([]mapping.Locator, len(pr.Locators))}
	for i, l := range pr.Locators {
		rec.Locators[i] = mapping.Locator{Addr: l.Addr.IP.Unmap(), Priority: l.Priority, Weight: l.Weight, Up: l.Reachable}
	}
	return rec, true
}

// store writes the changed records of one register, all or none, through
// the controller, which applies the registration authority again against
// the database; a refusal there is counted like the reader's. It notifies
// the xTR that registered an EID before, if another one takes it over.
func (w *worker) store(j regJob, recs []mapping.Record, prs []*packet.Record, exp int64) bool {
	if len(recs) == 0 {
		return true
	}
	done, err := w.s.ctl.RegisterMappings(controller.WithActor(w.s.ctx, controller.ActorSite(j.site)), j.site, recs, time.Unix(exp, 0))
	var ref *controller.RefusedError
	if errors.As(err, &ref) {
		why := refusalOutcome(ref.Reason)
		outcomes[why].Inc()
		w.s.noteRefusal(refusal{reason: why, src: j.src, site: j.site, owner: ref.Owner}, &w.reg, w.s.mono(time.Now()))
		return false
	}
	if err != nil {
		outcomes[regFailed].Add(float64(len(recs)))
		w.s.log.Warn("lisp: store registration", "eid", recs[0].EID, "site", j.site, "err", err)
		return false
	}
	for i, d := range done {
		switch {
		case d.Old == nil:
			outcomes[regCreated].Inc()
		case d.Old.Site != j.site:
			outcomes[regMoved].Inc()
		default:
			outcomes[regUpdated].Inc()
		}
		if old := d.Old; old != nil && old.Origin == mapping.OriginRegistered && old.XTR != "" && old.XTR != recs[i].XTR {
			w.notifyMoved(old, prs[i])
		}
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
