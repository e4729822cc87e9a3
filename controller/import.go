package controller

import (
	"context"

	"github.com/l2lisp/l2lisp/mapping"
)

// MaxImport bounds the mappings of one CreateMappings call.
const MaxImport = 10000

// SaveResult is what became of one mapping of CreateMappings.
type SaveResult struct {
	Record  mapping.Record
	Created bool
	Err     error
}

// CreateMappings validates and stores many operator mappings at once, each
// on its own (one refused costs the others nothing), with one write that
// the writer commits in bulk; it returns once they are committed. Each
// result is what CreateMapping would have returned for that input.
func (c *Controller) CreateMappings(ctx context.Context, ins []MappingInput) []SaveResult {
	out := make([]SaveResult, len(ins))
	units := make([]*saveUnit, 0, len(ins))
	at := make([]int, 0, len(ins))
	for i, in := range ins {
		rec, err := staticRecord(in)
		if err != nil {
			out[i].Err = err
			continue
		}
		units = append(units, &saveUnit{site: rec.Site, recs: []mapping.Record{rec},
			opt: SaveOptions{DefaultLocators: len(rec.Locators) == 0}})
		at = append(at, i)
	}
	if len(units) == 0 {
		return out
	}
	err := c.submit(ctx, writeOp{units: units})
	for k, u := range units {
		r := &out[at[k]]
		switch {
		case err != nil:
			r.Err = err
		case u.err != nil:
			r.Err = u.err
		default:
			r.Record, r.Created = u.saved[0].Record, u.saved[0].Old == nil
		}
	}
	return out
}
