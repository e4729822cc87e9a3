package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strconv"

	"github.com/l2lisp/l2lisp/controller"
)

// bfdFlags are serve's flags of BFD between the RLOCs.
func bfdFlags(fs *flag.FlagSet, b *controller.BFDConfig) {
	fs.BoolVar(&b.Enabled, "bfd", envBool("L2LISP_BFD", b.Enabled), "run BFD between every pair of RLOCs that share an instance-id, so switches skip a dead RLOC at once (env L2LISP_BFD)")
	fs.IntVar(&b.MinRx, "bfd-min-rx", envInt("L2LISP_BFD_MIN_RX", b.MinRx), "BFD: the fastest rate at which a session receives, milliseconds (env L2LISP_BFD_MIN_RX)")
	fs.IntVar(&b.MinTx, "bfd-min-tx", envInt("L2LISP_BFD_MIN_TX", b.MinTx), "BFD: the fastest rate at which a session sends, milliseconds (env L2LISP_BFD_MIN_TX)")
	fs.IntVar(&b.Mult, "bfd-mult", envInt("L2LISP_BFD_MULT", b.Mult), "BFD: packets missed before a session goes down; detection takes about mult x interval (env L2LISP_BFD_MULT)")
}

func checkBFD(b controller.BFDConfig) error {
	switch {
	case b.MinRx < 1 || b.MinRx > 60000:
		return fmt.Errorf("--bfd-min-rx %d: want 1..60000 ms", b.MinRx)
	case b.MinTx < 1 || b.MinTx > 60000:
		return fmt.Errorf("--bfd-min-tx %d: want 1..60000 ms", b.MinTx)
	case b.Mult < 1 || b.Mult > 255:
		return fmt.Errorf("--bfd-mult %d: want 1..255", b.Mult)
	}
	return nil
}

// WaitConverged lets the REST API wait for a drain to reach every switch.
func (s switchStatus) WaitConverged(ctx context.Context, pos int64) bool {
	return s.sb.WaitConverged(ctx, pos)
}

// envBool is envOr for booleans; a malformed value keeps def.
func envBool(name string, def bool) bool {
	if v, ok := os.LookupEnv(name); ok {
		if b, err := strconv.ParseBool(v); err == nil {
			return b
		}
	}
	return def
}
