package ovsdb

import (
	"crypto/tls"
	"math/rand/v2"
	"time"
)

// Option configures Dial and NewManager.
type Option func(*options)

type options struct {
	tls         *tls.Config
	requireTLS  bool
	owner       string
	probe       time.Duration // idle time before an echo checks the connection
	dialTimeout time.Duration
	backoffMin  time.Duration
	backoffMax  time.Duration
}

func buildOptions(opts []Option) options {
	o := options{
		owner:       DefaultOwner,
		probe:       5 * time.Second,
		dialTimeout: 10 * time.Second,
		backoffMin:  200 * time.Millisecond,
		backoffMax:  10 * time.Second,
	}
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// WithTLS sets the client configuration used for ssl: endpoints. Dial
// checks the server's certificate against the address dialled unless
// cfg.ServerName says otherwise; a Manager sets ServerName to each xTR's
// name, so a switch proves it is that xTR (l2lisp pki issue puts the name
// in the certificate) whatever address it is reached at.
func WithTLS(cfg *tls.Config) Option { return func(o *options) { o.tls = cfg } }

// WithRequireTLS refuses tcp: endpoints: once the controller has TLS, a
// switch database reached in plain TCP is a mistake to report, not a
// fallback. unix: sockets stay allowed, being local.
func WithRequireTLS() Option { return func(o *options) { o.requireTLS = true } }

// serverName makes the TLS client expect a certificate for name.
func serverName(name string) Option {
	return func(o *options) {
		if o.tls != nil && o.tls.ServerName == "" {
			c := o.tls.Clone()
			c.ServerName = name
			o.tls = c
		}
	}
}

// WithOwner changes the external_ids:l2lisp-owner value, so that two
// controllers sharing a switch never reconcile each other's rows.
func WithOwner(owner string) Option {
	return func(o *options) {
		if owner != "" {
			o.owner = owner
		}
	}
}

// WithBackoff bounds the delay between reconnect and re-apply attempts.
func WithBackoff(lowest, highest time.Duration) Option {
	return func(o *options) {
		if lowest > 0 && highest >= lowest {
			o.backoffMin, o.backoffMax = lowest, highest
		}
	}
}

// backoff is capped exponential backoff with jitter, so that many xTRs
// losing the same network do not retry in lockstep.
type backoff struct {
	min, max, cur time.Duration
}

func (b *backoff) next() time.Duration {
	if b.cur == 0 {
		b.cur = b.min
	} else {
		b.cur = min(2*b.cur, b.max)
	}
	half := b.cur / 2
	return half + rand.N(half+1)
}

func (b *backoff) reset() { b.cur = 0 }
