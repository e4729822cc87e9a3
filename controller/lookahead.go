package controller

import (
	"slices"

	"gorm.io/gorm"

	"github.com/l2lisp/l2lisp/store"
)

// The writer plans the next batch of Map-Registers beside the write of the
// current one. Applying the rules to a batch (the registration authority,
// versions, rows, events and their JSON) is Go work that needs no database
// once the rows it touches are read; storing the batch is SQLite's work.
// Done in turn, the writer's goroutine did both; now, inside the current
// batch's transaction, once its rows are known and before they are
// stored, the writer takes the writes waiting, reads what their units
// need (with the current batch's rows laid over what it reads, as they
// are not stored yet) and plans them on another goroutine while SQLite
// stores the current batch and commits. The next transaction then only
// stores that plan.
//
// A plan is made only where it cannot differ from one made in the next
// transaction itself:
//   - on SQLite, whose one writer is this goroutine. With PostgreSQL other
//     replicas write too, and a plan read before the current commit would
//     widen the window in which one of their writes is overwritten.
//   - for a next batch of Map-Registers only: an ordinary op runs at the
//     start of its own transaction, which a plan made before cannot see.
//   - after a current batch without operator writes: registrations are
//     checked against the static prefixes covering them through the index,
//     which lags by the batches not yet applied; a registration never adds
//     a static prefix.
//
// If the current batch does not commit, its plan for the next is dropped
// and the next batch is planned again in its own transaction; so is it if
// one of its callers gave up in the meantime.

// lookahead is the next batch, taken from the queue while the current one
// was written, and the plan of its units made beside that write.
type lookahead struct {
	batch []writeOp
	ops   []int         // indexes in batch of the ops the plan covers
	plan  *unitPlan     // set before done is closed
	done  chan struct{} // closed once plan is made; nil: no plan
}

// wait returns the plan once it is made; nil if none was started.
func (la *lookahead) wait() *unitPlan {
	if la == nil || la.done == nil {
		return nil
	}
	<-la.done
	return la.plan
}

// drop forgets the plan, once it is made (it was made against a write that
// did not commit). The batch stays, to be planned in its own transaction.
func (la *lookahead) drop() {
	la.wait()
	la.plan, la.done, la.ops = nil, nil, nil
}

// planFor returns the plan made ahead for the ops at indexes ops, or nil
// if there is none or it covers others.
func (la *lookahead) planFor(ops []int) *unitPlan {
	p := la.wait()
	if p == nil || !slices.Equal(la.ops, ops) {
		return nil
	}
	return p
}

// registrationsOnly reports whether every op of batch is a Map-Register
// write whose caller still waits.
func registrationsOnly(batch []writeOp) bool {
	for _, op := range batch {
		if op.units == nil || op.ctx.Err() != nil {
			return false
		}
	}
	return len(batch) > 0 && noOperatorUnits(batch)
}

// noOperatorUnits reports whether no op of batch carries an operator's
// mapping write.
func noOperatorUnits(batch []writeOp) bool {
	for _, op := range batch {
		for _, u := range op.units {
			if !u.register {
				return false
			}
		}
	}
	return true
}

// drain moves the writes waiting into la's batch, up to the batch limits,
// without waiting for more.
func (c *Controller) drain(la *lookahead) {
	records := 0
	for _, op := range la.batch {
		records += op.records()
	}
	for len(la.batch) < maxBatch && records < maxBatchRecords {
		select {
		case op := <-c.writes:
			la.batch = append(la.batch, op)
			records += op.records()
		default:
			return
		}
	}
}

// planAhead runs inside the transaction of batch once its units' rows
// (written) are known and before they are stored: it takes the next batch
// into la and, where it may (see the top of this file), reads what that
// batch's units need and starts planning them.
func (c *Controller) planAhead(tx *gorm.DB, la *lookahead, batch []writeOp, written map[store.MappingKey]*store.Mapping) error {
	if la == nil || store.IsPostgres(tx) || !noOperatorUnits(batch) {
		return nil
	}
	c.drain(la)
	if !registrationsOnly(la.batch) {
		return nil
	}
	var units []*saveUnit
	ops := make([]int, len(la.batch))
	for i, op := range la.batch {
		ops[i] = i
		units = append(units, op.units...)
	}
	st, err := c.readBulk(tx, units, written)
	if err != nil {
		return err
	}
	la.ops, la.done = ops, make(chan struct{})
	go func() {
		defer close(la.done)
		la.plan = st.plan(units)
	}()
	return nil
}
