package main

import (
	"slices"
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
