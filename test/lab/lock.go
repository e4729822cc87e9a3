package lab

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"
)

// LockPath serialises labs on one machine: the lab's names and addresses
// are fixed, so two at once would tear each other down.
const LockPath = "/tmp/" + Prefix + "-lock"

// Lock waits until no other process holds the lab, then holds it until
// the returned release is called (or the process dies, as flock locks do).
func Lock(ctx context.Context) (release func(), err error) {
	f, err := os.OpenFile(LockPath, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lab lock: %w", err)
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { _ = f.Close() }, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			_ = f.Close()
			return nil, fmt.Errorf("lab lock: %w", err)
		}
		select {
		case <-ctx.Done():
			_ = f.Close()
			return nil, fmt.Errorf("lab lock: %w", ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}
