package main

import (
	"context"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/l2lisp/l2lisp/pipeline"
	"github.com/l2lisp/l2lisp/test/lab"
)

// The lab keeps its own list of encapsulation names (it cannot import
// pipeline: southbound tests use the lab); it must be the controller's.
func TestLabEncapsulationNames(t *testing.T) {
	if !slices.Equal(lab.Encapsulations, pipeline.EncapNames()) {
		t.Errorf("lab.Encapsulations %v, pipeline.EncapNames() %v", lab.Encapsulations, pipeline.EncapNames())
	}
}

// Several replicas cannot share a SQLite file: lab up says so before it
// waits for the lab or touches anything.
func TestLabUpReplicasNeedPostgres(t *testing.T) {
	for _, args := range [][]string{
		{"-replicas", "2", "-db", "/tmp/l2lisp-lab.db"},
		{"-replicas", "3"},
	} {
		err := labUp(context.Background(), args, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "PostgreSQL") {
			t.Errorf("lab up %v: %v, want a PostgreSQL error", args, err)
		}
	}
	err := labUp(context.Background(), []string{"-replicas", "10", "-db", "postgres://x/y"}, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "replicas 10") {
		t.Errorf("lab up -replicas 10: %v", err)
	}
}
