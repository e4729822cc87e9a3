package ratelimit

import (
	"testing"
	"time"
)

func TestBucket(t *testing.T) {
	t0 := time.Unix(1000, 0)
	var b Bucket
	steps := []struct {
		at   time.Duration
		want bool
	}{{0, true}, {0, true}, {0, false}, {400 * time.Millisecond, false}, {500 * time.Millisecond, true}, {500 * time.Millisecond, false}, {10 * time.Second, true}, {10 * time.Second, true}, {10 * time.Second, false}}
	for i, s := range steps {
		if got := b.Take(t0.Add(s.at), 2, 2); got != s.want {
			t.Errorf("step %d at %v: %v, want %v", i, s.at, got, s.want)
		}
	}
}
