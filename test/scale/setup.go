package scale

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/l2lisp/l2lisp/northbound/client"
)

// IID is the instance-id of the network the switches serve.
const IID = 4100

func siteName(i int) string { return fmt.Sprintf("s%04d", i) }
func xtrName(i int) string  { return fmt.Sprintf("x%04d", i) }
func rloc(i int) string     { return fmt.Sprintf("10.%d.%d.1", 1+i/250, i%250) }

// hostMAC is the MAC of host i, which sits at site i mod Switches.
func hostMAC(i int) [6]byte {
	return [6]byte{0x02, 0xa0, byte(i >> 24), byte(i >> 16), byte(i >> 8), byte(i)}
}

func macString(m [6]byte) string {
	return fmt.Sprintf("%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5])
}

// topology creates the networks, the sites with one xTR and one access
// port each, and the fleet of simulated switches for them.
func (h *harness) topology(ctx context.Context) error {
	c := h.ctl.client
	if _, err := c.CreateNetwork(ctx, client.NetworkInput{InstanceID: IID, Name: "scale", ForwardingMode: h.cfg.Mode}); err != nil {
		return fmt.Errorf("network: %w", err)
	}
	if _, err := c.CreateNetwork(ctx, client.NetworkInput{InstanceID: RegisterIID, Name: "registered"}); err != nil {
		return fmt.Errorf("network: %w", err)
	}
	key, nets, pfx := RegisterKey, []int64{RegisterIID}, []string{"10.0.0.0/8"}
	if _, err := c.CreateSite(ctx, client.SiteInput{Name: "register", AuthKey: &key, Networks: &nets, EIDPrefixes: &pfx}); err != nil {
		return fmt.Errorf("site: %w", err)
	}
	h.fleet = &fleet{addr: h.ctl.ofAddr, slots: make([]*slot, h.cfg.Switches)}
	jobs := make(chan int)
	errs := make(chan error, 16)
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for i := range jobs {
				if err := h.site(ctx, i); err != nil {
					select {
					case errs <- err:
					default:
					}
				}
			}
		})
	}
	for i := range h.cfg.Switches {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
		return nil
	}
}

func (h *harness) site(ctx context.Context, i int) error {
	c := h.ctl.client
	key, nets := "scale-site-key-"+strconv.Itoa(i), []int64{IID}
	if _, err := c.CreateSite(ctx, client.SiteInput{Name: siteName(i), AuthKey: &key, Networks: &nets}); err != nil {
		return fmt.Errorf("site %d: %w", i, err)
	}
	x, err := c.CreateXTR(ctx, siteName(i), client.XTRInput{Name: xtrName(i), RLOC: rloc(i), DatapathType: "netdev"})
	if err != nil {
		return fmt.Errorf("xtr %d: %w", i, err)
	}
	if _, err := c.BindPort(ctx, xtrName(i), client.PortInput{Name: "p1", InstanceID: IID}); err != nil {
		return fmt.Errorf("port %d: %w", i, err)
	}
	dpid, err := strconv.ParseUint(x.DatapathID, 10, 64)
	if err != nil {
		return fmt.Errorf("xtr %d datapath_id %q: %w", i, x.DatapathID, err)
	}
	tc, err := h.ctl.switchTLS(xtrName(i))
	if err != nil {
		return err
	}
	h.fleet.slots[i] = &slot{i: i, name: xtrName(i), dpid: dpid, tls: tc}
	return nil
}

// reuse builds the fleet from the xTRs an earlier run created.
func (h *harness) reuse(ctx context.Context) error {
	xs, err := h.ctl.client.XTRs(ctx)
	if err != nil {
		return err
	}
	if len(xs) != h.cfg.Switches {
		return fmt.Errorf("the database has %d xTRs, not %d", len(xs), h.cfg.Switches)
	}
	h.fleet = &fleet{addr: h.ctl.ofAddr, slots: make([]*slot, h.cfg.Switches)}
	for i := range h.cfg.Switches {
		x := xs[i]
		if x.Name != xtrName(i) {
			return fmt.Errorf("xTR %d is %s, not %s", i, x.Name, xtrName(i))
		}
		dpid, err := strconv.ParseUint(x.DatapathID, 10, 64)
		if err != nil {
			return fmt.Errorf("xtr %d datapath_id %q: %w", i, x.DatapathID, err)
		}
		tc, err := h.ctl.switchTLS(x.Name)
		if err != nil {
			return err
		}
		h.fleet.slots[i] = &slot{i: i, name: x.Name, dpid: dpid, tls: tc}
	}
	return nil
}

// importEIDs writes the EIDs as an import file and times `l2lisp mapping
// import` on it, the way an operator would load them.
func (h *harness) importEIDs(ctx context.Context, dir string) error {
	path := filepath.Join(dir, "eids.csv")
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("import file: %w", err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	fmt.Fprintln(w, "instance_id,eid,site")
	for i := range h.cfg.EIDs {
		fmt.Fprintf(w, "%d,%s,%s\n", IID, macString(hostMAC(i)), siteName(i%h.cfg.Switches))
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("import file: %w", err)
	}
	f.Close()
	h.logf("l2lisp mapping import of %d rows", h.cfg.EIDs)
	cmd := exec.CommandContext(ctx, h.cfg.Binary, "mapping", "import", path, "-o", "json")
	cmd.Env = h.ctl.clientEnv()
	start := time.Now()
	out, err := cmd.CombinedOutput()
	h.rep.Import = time.Since(start)
	if err != nil {
		return fmt.Errorf("mapping import: %w: %s", err, tail(out))
	}
	if !strings.Contains(strings.Join(strings.Fields(string(out)), ""), fmt.Sprintf(`"created":%d,`, h.cfg.EIDs)) {
		return fmt.Errorf("mapping import did not create every row: %s", tail(out))
	}
	h.logf("imported in %v", h.rep.Import.Round(time.Millisecond))
	return nil
}

func tail(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 600 {
		s = "..." + s[len(s)-600:]
	}
	return s
}
