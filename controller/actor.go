package controller

import "context"

// Actors of the writes no API token makes. A token's actor is its name;
// token names cannot contain ':' and cannot be one of these words, so an
// actor always says who made a change.
const (
	ActorSystem   = "system"   // expiry, sweeps, switch state: the controller itself
	ActorLearning = "learning" // host learning from the switches' packet-ins
	ActorLISP     = "lisp"     // a Map-Register; ActorSite adds the site
)

type actorKey struct{}

// WithActor returns a context whose writes are recorded as made by actor:
// every event of such a write carries it (the audit trail).
func WithActor(ctx context.Context, actor string) context.Context {
	return context.WithValue(ctx, actorKey{}, actor)
}

// ActorOf is the actor a context carries, or ActorSystem.
func ActorOf(ctx context.Context) string {
	if a, ok := ctx.Value(actorKey{}).(string); ok && a != "" {
		return a
	}
	return ActorSystem
}

// ActorSite is the actor of a LISP site's registrations: lisp:SITE.
func ActorSite(site string) string {
	if site == "" {
		return ActorLISP
	}
	return ActorLISP + ":" + site
}

// OrActor sets actor unless the context already names one.
func OrActor(ctx context.Context, actor string) context.Context {
	if a, ok := ctx.Value(actorKey{}).(string); ok && a != "" {
		return ctx
	}
	return WithActor(ctx, actor)
}
