package scale

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/l2lisp/l2lisp/northbound/client"
)

// changes moves hosts to other sites one at a time, each a POST
// /mappings, and times each until every switch it concerns got its
// flow-mod: all of them in a push network; in an on-demand network the
// hosts' old and new homes and the switches that hold it, which the
// harness first makes ask for it (a miss, as their pipeline would send).
func (h *harness) changes(ctx context.Context) error {
	n := min(h.cfg.Changes, h.cfg.EIDs)
	if n == 0 {
		return nil
	}
	// A seed of its own each run: a run on the database of an earlier
	// one (--reuse) must not pick the hosts that run moved, whose homes
	// are no longer where hostMAC puts them.
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 2))
	at := map[int]int{} // host -> its site, once moved
	onDemand := h.cfg.Mode == "on-demand"
	h.logf("%d mapping changes (host moves)", n)
	for k := range n {
		host := rng.IntN(h.cfg.EIDs)
		from, ok := at[host]
		if !ok {
			from = host % h.cfg.Switches
		}
		to := (from + 1 + rng.IntN(h.cfg.Switches-1)) % h.cfg.Switches
		mac := hostMAC(host)
		want := []int{from, to}
		if onDemand {
			holders, err := h.hold(ctx, rng, mac, from, to)
			if err != nil {
				return fmt.Errorf("change %d: %w", k, err)
			}
			want = append(want, holders...)
		} else {
			want = make([]int, h.cfg.Switches)
			for i := range want {
				want[i] = i
			}
		}
		h.rep.Interested = len(want)
		w := h.fleet.arr.expect(mac, want)
		start := time.Now()
		if _, _, err := h.ctl.client.CreateMapping(ctx, client.MappingInput{InstanceID: IID, EID: macString(mac), Site: siteName(to)}); err != nil {
			return fmt.Errorf("change %d: %w", k, err)
		}
		select {
		case <-w.done:
		case <-time.After(time.Minute):
			return fmt.Errorf("change %d: %d of %d switches got it within a minute", k, len(w.got), len(w.want))
		case <-ctx.Done():
			return ctx.Err()
		}
		h.rep.Changes = append(h.rep.Changes, w.last().Sub(start))
		h.fleet.arr.forget(mac)
		at[host] = to
	}
	return nil
}

// hold makes Holders switches other than from and to install host mac,
// by a miss each, and waits until they hold it.
func (h *harness) hold(ctx context.Context, rng *rand.Rand, mac [6]byte, from, to int) ([]int, error) {
	var holders []int
	for len(holders) < min(h.cfg.Holders, h.cfg.Switches-2) {
		i := rng.IntN(h.cfg.Switches)
		if i != from && i != to && !slices.Contains(holders, i) {
			holders = append(holders, i)
		}
	}
	for _, i := range holders {
		h.fleet.miss(i, mac)
	}
	deadline := time.Now().Add(30 * time.Second)
	for _, i := range holders {
		for !h.fleet.holds(i, mac) {
			if time.Now().After(deadline) {
				return nil, fmt.Errorf("%s did not install %s after a miss", xtrName(i), macString(mac))
			}
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(2 * time.Millisecond):
			}
		}
	}
	return holders, nil
}

// Print writes the report as a table.
func (r *Report) Print(w io.Writer) {
	tls := "TLS on every channel"
	if !r.TLS {
		tls = "--insecure-plaintext"
	}
	fmt.Fprintf(w, "scale: %d simulated switches (test/sim, OpenFlow 1.3 over TCP), %d EIDs, %s, %s\n",
		r.Switches, r.EIDs, r.Mode, tls)
	fmt.Fprintf(w, "  mapping import of %d rows            %v (%.0f rows/s)\n", r.EIDs, r.Import.Round(time.Millisecond),
		float64(r.EIDs)/r.Import.Seconds())
	fmt.Fprintf(w, "  switches connect → all in sync       %v\n", r.FirstSync.Round(time.Millisecond))
	fmt.Fprintf(w, "  cold start → all in sync             %v (REST API up after %v; CPU: controller %.1f s, simulated switches %.1f s)\n",
		r.ColdStart.Round(time.Millisecond), r.APIUp.Round(time.Millisecond), r.ColdCPU.Seconds(), r.SimCPU.Seconds())
	fmt.Fprintf(w, "  controller RSS %.0f MiB (peak %.0f MiB), Go heap in use %.0f MiB\n",
		mib(r.RSS), mib(r.PeakRSS), mib(r.HeapInuse))
	if len(r.Flows) > 0 {
		sum := 0
		for _, n := range r.Flows {
			sum += n
		}
		fmt.Fprintf(w, "  flows per switch                     min %d, median %d, max %d, total %d\n",
			r.Flows[0], r.Flows[len(r.Flows)/2], r.Flows[len(r.Flows)-1], sum)
	}
	if len(r.Changes) > 0 {
		d := slices.Clone(r.Changes)
		slices.Sort(d)
		q := func(p float64) time.Duration { return d[min(len(d)-1, int(p*float64(len(d))))] }
		fmt.Fprintf(w, "  change → %d interested switches (%d changes)  median %v, p99 %v, max %v\n", r.Interested, len(d),
			q(0.5).Round(10*time.Microsecond), q(0.99).Round(10*time.Microsecond), d[len(d)-1].Round(10*time.Microsecond))
	}
	if r.Registers != "" {
		fmt.Fprintf(w, "  new-EID Map-Registers (HMAC-SHA-256, committed = Map-Notify received):\n%s\n", r.Registers)
	}
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }
