package controller

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/stdlib"
	"gorm.io/gorm"

	"github.com/l2lisp/l2lisp/store"
)

// On PostgreSQL a commit that adds events also sends a notification, and
// every replica listens on a connection of its own: followers wake at
// once for changes other replicas write, instead of at their next poll.
// Polling stays as the fallback when the listening connection is down.

// feedChannel is the LISTEN/NOTIFY channel of the change feed.
const feedChannel = "l2lisp_feed"

// notifyFeed queues the wake-up in tx; PostgreSQL delivers it on commit.
func notifyFeed(tx *gorm.DB) error {
	if !store.IsPostgres(tx) {
		return nil
	}
	if err := tx.Exec("NOTIFY " + feedChannel).Error; err != nil {
		return fmt.Errorf("notify the feed: %w", err)
	}
	return nil
}

// listen nudges the follower on every notification until Close, opening
// the listening connection again a second after it fails.
func (c *Controller) listen() {
	defer c.wg.Done()
	for {
		err := c.listenOnce()
		select {
		case <-c.closed:
			return
		case <-time.After(time.Second):
		}
		c.log.Debug("change feed: listening connection lost; polling meanwhile", "err", err)
	}
}

func (c *Controller) listenOnce() error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-c.closed:
			cancel()
		case <-ctx.Done():
		}
	}()
	sqlDB, err := c.db.DB()
	if err != nil {
		return err
	}
	cctx, ccancel := context.WithTimeout(ctx, readTimeout)
	defer ccancel()
	conn, err := sqlDB.Conn(cctx)
	if err != nil {
		return fmt.Errorf("listening connection: %w", err)
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		sc, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("listening connection: driver connection is %T", dc)
		}
		pc := sc.Conn()
		if _, err := pc.Exec(cctx, "LISTEN "+feedChannel); err != nil {
			return errors.Join(fmt.Errorf("listen: %w", err), driver.ErrBadConn)
		}
		c.nudgeForeign() // anything committed before LISTEN took effect
		for {
			if _, err := pc.WaitForNotification(ctx); err != nil {
				// The connection still listens: never hand it back to
				// the pool (ErrBadConn makes database/sql close it).
				return errors.Join(fmt.Errorf("wait for notification: %w", err), driver.ErrBadConn)
			}
			c.nudgeForeign()
		}
	})
}
