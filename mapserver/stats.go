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
	regRefusedMAC       // a MAC EID outside every serving site's MAC scope
	regRefusedRLOC      // a locator outside the candidate sites' rloc_prefixes
	regRefusedStatic    // would replace (or cut into) an operator's static mapping
	regRefusedForeign   // another site holds the EID outside its own scope: not a move
	regRefusedAmbiguous // overlapping scopes and nothing tells the sites apart
	regRefusedBudget    // the source spent its failed-authentication budget
	nOutcomes
)

var outcomeNames = [nOutcomes]string{"created", "updated", "moved", "refreshed", "refused_auth",
	"refused_no_site", "refused_iid", "refused_prefix", "refused_record", "failed", "refused_mac",
	"refused_rloc", "refused_static", "refused_foreign", "refused_ambiguous", "refused_over_budget"}

// HMAC verifications of Map-Registers (RegisterVerifications{result}).
const (
	verifyOK = iota
	verifyFailed
	nVerify
)

var verifyNames = [nVerify]string{"ok", "failed"}

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
	verifies [nVerify]prometheus.Counter
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
	for i, n := range verifyNames {
		verifies[i] = metrics.RegisterVerifications.WithLabelValues(n)
	}
}

// stats are a reader's counts, added to the shared counters once per
// batch rather than once per packet.
type stats struct {
	requests, replies, negative, notifies, limited, forwarded int
	drop                                                      [nDrops]int
	outcome                                                   [nOutcomes]int
	lookup                                                    [nLookups]int
	verify                                                    [nVerify]int
}

func addIf(c prometheus.Counter, n *int) {
	if *n != 0 {
		c.Add(float64(*n))
		*n = 0
	}
}

func (s *stats) flush() {
	// Verifications first: a test that saw an outcome then sees its HMAC.
	for i := range s.verify {
		addIf(verifies[i], &s.verify[i])
	}
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
