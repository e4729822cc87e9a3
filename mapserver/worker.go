package mapserver

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"time"

	"github.com/l2lisp/l2lisp/controller"
	"github.com/l2lisp/l2lisp/mapping"
	"github.com/l2lisp/l2lisp/mapserver/packet"
	"github.com/l2lisp/l2lisp/mapserver/udpio"
)

// workerQueue is how many changing registrations may wait per worker
// before more are dropped (the xTR retries; RFC 9301 §8.2); workerBatch
// how many one worker hands the controller in one write.
const (
	workerQueue = 1024
	workerBatch = 1024
)

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
					w.do(w.gather(j, s.jobs[i]))
				}
			}
		}()
	}
}

// worker writes registrations through the controller. Whatever queued
// while its last write committed goes in one write (RegisterMany), which
// the controller group-commits with the other workers' writes, so that
// one commit carries thousands of new EIDs.
type worker struct {
	s     *Server
	id    int
	auth  authCache
	touch *touchSet
	jobs  []regJob
	items []workItem
	regs  []controller.Registration
	buf   []byte
	bufs  [][]byte
	n     packet.MapNotify
	out   []udpio.Datagram
	bc    *udpio.BatchConn
}

// workItem is one job of a batch, decoded.
type workItem struct {
	job       regJob
	reg       packet.MapRegister
	recs      []mapping.Record
	prs       []*packet.Record
	refreshed []mapping.EID
	at        int // index in the registrations written; -1: none
}

// gather takes j and whatever else is queued, up to workerBatch.
func (w *worker) gather(j regJob, q chan regJob) []regJob {
	w.jobs = append(w.jobs[:0], j)
	for len(w.jobs) < workerBatch {
		select {
		case j := <-q:
			w.jobs = append(w.jobs, j)
		default:
			return w.jobs
		}
	}
	return w.jobs
}

func (w *worker) do(jobs []regJob) {
	exp := w.s.expiry(time.Now())
	if len(w.items) < len(jobs) {
		w.items = make([]workItem, len(jobs)) // the decode buffers are reused from here on
	}
	items := w.items[:len(jobs)]
	w.regs = w.regs[:0]
	n := 0
	for _, j := range jobs {
		it := &items[n]
		it.job, it.at = j, -1
		if !w.decode(it) {
			continue // the slot goes to the next job
		}
		n++
		if len(it.recs) > 0 {
			it.at = len(w.regs)
			w.regs = append(w.regs, controller.Registration{Site: j.site, Records: it.recs, Expires: time.Unix(exp, 0)})
		}
	}
	items = items[:n]
	var res []controller.RegisterResult
	if len(w.regs) > 0 {
		res = w.s.ctl.RegisterMany(w.s.ctx, w.regs)
	}
	w.out = w.out[:0]
	for i := range items {
		it := &items[i]
		if it.at >= 0 && !w.stored(it, res[it.at]) {
			continue
		}
		for _, e := range it.refreshed {
			w.touch.add(e, exp)
		}
		outcomes[regRefreshed].Add(float64(len(it.refreshed)))
		if it.reg.WantMapNotify {
			w.queueNotify(it)
		}
	}
	w.flush()
}

// decode reads a job's datagram and sorts its records into those that
// change something and those only refreshed.
func (w *worker) decode(it *workItem) bool {
	if err := it.reg.Decode(it.job.raw); err != nil {
		return false
	}
	xtr := it.job.src.Addr().Unmap().String()
	it.recs, it.prs, it.refreshed = nil, nil, nil
	idx := w.s.ctl.Index()
	for i := range it.reg.Records {
		pr := &it.reg.Records[i]
		rec, ok := registeredRecord(pr, it.job.site, xtr, !it.reg.ProxyReply)
		if !ok {
			return false // the reader checked the records; a changed datagram is not ours
		}
		if old, had := idx.Get(rec.EID); had && sameRegistration(&old, pr, it.job.site, rec.NoProxy) && old.XTR == xtr {
			it.refreshed = append(it.refreshed, rec.EID)
			continue
		}
		it.recs, it.prs = append(it.recs, rec), append(it.prs, pr)
	}
	return true
}

// queueNotify signs the Map-Notify acknowledging one register and adds it
// to the batch flush sends.
func (w *worker) queueNotify(it *workItem) {
	if w.bc == nil {
		if bc, err := udpio.NewBatchConn(w.s.conn(w.id), workerSendBatch); err == nil {
			w.bc = bc
		}
	}
	if w.bc == nil {
		if b, good := buildNotify(w.buf[:0], &w.n, &it.reg, w.auth.get(it.job.key)); good {
			w.buf = b
			w.s.sendTo(w.id, b, it.job.src)
			outcomesNotify()
		}
		return
	}
	if len(w.out) == workerSendBatch {
		w.flush()
	}
	w.out = append(w.out, udpio.Datagram{Buf: w.notifyBuf(len(w.out))})
	d := &w.out[len(w.out)-1]
	b, good := buildNotify(d.Buf[:0], &w.n, &it.reg, w.auth.get(it.job.key))
	if !good {
		w.out = w.out[:len(w.out)-1]
		return
	}
	d.Buf, d.N, d.Addr = b[:cap(b)], len(b), it.job.src
	outcomesNotify()
}

// workerSendBatch is how many Map-Notifies a worker sends per system call.
const workerSendBatch = 64

// notifyBuf is the reusable buffer of send slot i.
func (w *worker) notifyBuf(i int) []byte {
	for len(w.bufs) <= i {
		w.bufs = append(w.bufs, make([]byte, 0, maxDatagram))
	}
	return w.bufs[i]
}

// flush sends the queued Map-Notifies.
func (w *worker) flush() {
	if len(w.out) == 0 || w.bc == nil {
		return
	}
	sent, err := w.bc.WriteBatch(w.out)
	if err != nil && !errors.Is(err, net.ErrClosed) {
		w.s.log.Debug("lisp: send map-notifies", "err", err)
	}
	if sent < len(w.out) {
		dropped[dropSendFailed].Add(float64(len(w.out) - sent))
	}
	w.out = w.out[:0]
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

// stored counts what became of one register's write: a refusal from the
// controller, which applied the registration authority again against the
// database, is counted like the reader's. It notifies the xTR that
// registered an EID before, if another one takes it over.
func (w *worker) stored(it *workItem, res controller.RegisterResult) bool {
	j := it.job
	var ref *controller.RefusedError
	if errors.As(res.Err, &ref) {
		why := refusalOutcome(ref.Reason)
		outcomes[why].Inc()
		w.s.noteRefusal(refusal{reason: why, src: j.src, site: j.site, owner: ref.Owner}, &it.reg, w.s.mono(time.Now()))
		return false
	}
	if res.Err != nil {
		outcomes[regFailed].Add(float64(len(it.recs)))
		w.s.log.Warn("lisp: store registration", "eid", it.recs[0].EID, "site", j.site, "err", res.Err)
		return false
	}
	for i, d := range res.Saved {
		switch {
		case d.Old == nil:
			outcomes[regCreated].Inc()
		case d.Old.Site != j.site:
			outcomes[regMoved].Inc()
		default:
			outcomes[regUpdated].Inc()
		}
		if old := d.Old; old != nil && old.Origin == mapping.OriginRegistered && old.XTR != "" && old.XTR != it.recs[i].XTR {
			w.notifyMoved(old, it.prs[i], it.reg.AlgID)
		}
	}
	return true
}

// notifyMoved tells the xTR that registered old that the EID now lives
// elsewhere: an unsolicited Map-Notify with the new record, signed with
// the old site's key, to its control port, retransmitted until it is
// acknowledged (RFC 9301 §5.7).
func (w *worker) notifyMoved(old *mapping.Record, pr *packet.Record, alg packet.AuthAlg) {
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
	w.n = packet.MapNotify{Nonce: binary.BigEndian.Uint64(nonce[:]), AlgID: alg, Records: []packet.Record{*pr}}
	b, err := w.n.Append(w.buf[:0])
	if err != nil || w.auth.get(site.AuthKey).Sign(b, alg) != nil {
		return
	}
	w.buf = b
	w.s.ps.notifyMoved(append([]byte(nil), b...), w.n.Nonce, netip.AddrPortFrom(to, w.s.cfg.ETRPort), old, site.AuthKey)
}
