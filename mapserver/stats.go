package mapserver

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/l2lisp/l2lisp/metrics"
)

// Reasons a datagram is dropped (LISPDropped{reason}).
const (
	dropMalformed = iota
	dropTooBig
	dropUnknownType
	dropUnexpected
	dropNoITRRLOC
	dropSMR
	dropProbe
	dropUnsupportedEID
	dropQueueFull
	dropSendFailed
	dropNoRecords
	nDrops
)

var dropNames = [nDrops]string{"malformed", "too_big", "unknown_type", "unexpected_type",
	"no_itr_rloc", "smr", "rloc_probe", "unsupported_eid", "register_queue_full", "send_failed", "no_records"}

// Map-Register outcomes (MapRegisters{outcome}).
const (
	regCreated = iota
	regUpdated
	regMoved
	regRefreshed
	regRefusedAuth
	regRefusedNoSite
	regRefusedIID
	regRefusedPrefix
	regRefusedRecord
	regFailed
	nOutcomes
)

var outcomeNames = [nOutcomes]string{"created", "updated", "moved", "refreshed", "refused_auth",
	"refused_no_site", "refused_iid", "refused_prefix", "refused_record", "failed"}

// Lookup results (LookupsTotal{result}).
const (
	lookupHit = iota
	lookupMiss
	lookupForward
	nLookups
)

var lookupNames = [nLookups]string{"hit", "miss", "forwarded"}

// The labelled children, resolved once so the hot path does no map work.
var (
	dropped  [nDrops]prometheus.Counter
	outcomes [nOutcomes]prometheus.Counter
	lookups  [nLookups]prometheus.Counter
)

func init() {
	for i, n := range dropNames {
		dropped[i] = metrics.LISPDropped.WithLabelValues(n)
	}
	for i, n := range outcomeNames {
		outcomes[i] = metrics.MapRegisters.WithLabelValues(n)
	}
	for i, n := range lookupNames {
		lookups[i] = metrics.LookupsTotal.WithLabelValues(n)
	}
}

// stats are a reader's counts, added to the shared counters once per
// batch rather than once per packet.
type stats struct {
	requests, replies, negative, notifies, limited, forwarded int
	drop                                                      [nDrops]int
	outcome                                                   [nOutcomes]int
	lookup                                                    [nLookups]int
}

func addIf(c prometheus.Counter, n *int) {
	if *n != 0 {
		c.Add(float64(*n))
		*n = 0
	}
}

func (s *stats) flush() {
	addIf(metrics.MapRequests, &s.requests)
	addIf(metrics.MapReplies, &s.replies)
	addIf(metrics.NegativeReplies, &s.negative)
	addIf(metrics.MapNotifies, &s.notifies)
	addIf(metrics.RateLimited, &s.limited)
	addIf(metrics.MapRequestsFwd, &s.forwarded)
	for i := range s.drop {
		addIf(dropped[i], &s.drop[i])
	}
	for i := range s.outcome {
		addIf(outcomes[i], &s.outcome[i])
	}
	for i := range s.lookup {
		addIf(lookups[i], &s.lookup[i])
	}
}

// outcomesNotify counts a Map-Notify sent outside a reader.
func outcomesNotify() { metrics.MapNotifies.Inc() }
