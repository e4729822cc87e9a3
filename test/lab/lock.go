package lab

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// LockPath serialises labs on one machine: the lab's names and addresses
// are fixed, so two at once would tear each other down.
const LockPath = "/tmp/" + Prefix + "-lock"

// LockEnv names the descriptor of a held lab lock that a parent passed to
// its child (ShareLock): the child's Lock adopts it instead of waiting
// for its own parent forever.
const LockEnv = "L2LAB_LOCK_FD"

// held is the lock this process holds, for ShareLock.
var held struct {
	sync.Mutex
	f *os.File
}

// Lock waits until no other process holds the lab, then holds it until
// the returned release is called (or the process dies, as flock locks do).
func Lock(ctx context.Context) (release func(), err error) {
	f := inheritedLock()
	if f == nil {
		if f, err = waitLock(ctx); err != nil {
			return nil, err
		}
	}
	held.Lock()
	held.f = f
	held.Unlock()
	return func() {
		held.Lock()
		if held.f == f {
			held.f = nil
		}
		held.Unlock()
		_ = f.Close()
	}, nil
}

func waitLock(ctx context.Context) (*os.File, error) {
	f, err := os.OpenFile(LockPath, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lab lock: %w", err)
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return f, nil
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

// ShareLock hands the lab lock this process holds to cmd, a child that
// runs an l2lisp lab command (a test driving the CLI): the child shares
// the lock instead of waiting for it.
func ShareLock(cmd *exec.Cmd) error {
	held.Lock()
	f := held.f
	held.Unlock()
	if f == nil {
		return errors.New("lab lock: not held")
	}
	cmd.ExtraFiles = append(cmd.ExtraFiles, f)
	fd := 2 + len(cmd.ExtraFiles)
	cmd.Env = append(cmd.Environ(), LockEnv+"="+strconv.Itoa(fd))
	return nil
}

// inheritedLock adopts the lock a parent passed down, when the descriptor
// named by LockEnv is the lock file and holds its lock; else nil.
func inheritedLock() *os.File {
	v := os.Getenv(LockEnv)
	if v == "" {
		return nil
	}
	_ = os.Unsetenv(LockEnv)
	fd, err := strconv.Atoi(v)
	if err != nil || fd < 3 {
		return nil
	}
	var got, want syscall.Stat_t
	if syscall.Fstat(fd, &got) != nil || syscall.Stat(LockPath, &want) != nil ||
		got.Dev != want.Dev || got.Ino != want.Ino {
		return nil
	}
	// The same open file holds the lock already, so this succeeds at once;
	// if the parent did not hold it, it is taken here or refused.
	if syscall.Flock(fd, syscall.LOCK_EX|syscall.LOCK_NB) != nil {
		return nil
	}
	// Not to be inherited further (the replicas the command starts).
	syscall.CloseOnExec(fd)
	return os.NewFile(uintptr(fd), LockPath)
}
