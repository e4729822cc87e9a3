// Package ratelimit holds the token buckets that bound what outsiders can
// make the controller do: packet-ins learned per access port, Map-Replies
// per destination, failed authentications per source.
package ratelimit

import "time"

// Bucket is one token bucket: rate tokens per second up to burst. The zero
// value starts full on its first Take.
type Bucket struct {
	tokens float64
	last   time.Time
}

// Take reports whether a token was available at now, and takes it.
func (b *Bucket) Take(now time.Time, rate, burst float64) bool {
	if b.last.IsZero() {
		b.tokens = burst
	} else {
		b.tokens = min(burst, b.tokens+now.Sub(b.last).Seconds()*rate)
	}
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
