package main

import (
	"context"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"time"

	lispclient "github.com/l2lisp/l2lisp/mapserver/client"
)

// cmdLig is the LISP Internet Groper: one Map-Request, the answer printed.
func cmdLig(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("lig", flag.ContinueOnError)
	opt := lispclient.LigOptions{}
	fs.StringVar(&opt.MR, "mr", envOr("L2LISP_MAP_RESOLVER", "127.0.0.1:4342"), "Map-Resolver host:port (env L2LISP_MAP_RESOLVER)")
	iid := fs.Uint("iid", 0, "instance-id")
	fs.BoolVar(&opt.ECM, "ecm", false, "send the Map-Request in an Encapsulated Control Message")
	fs.DurationVar(&opt.Timeout, "timeout", lispclient.DefaultClientTimeout, "wait per try")
	fs.IntVar(&opt.Retries, "retries", lispclient.DefaultClientRetries, "tries after the first")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: l2lisp lig [--mr host:port] [--iid N] [--ecm] EID")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return fmt.Errorf("want exactly one EID")
	}
	opt.IID, opt.EID = uint32(*iid), fs.Arg(0)
	fmt.Printf("Send map-request to %s for [%d]%s ...\n", opt.MR, opt.IID, opt.EID)
	res, err := lispclient.Lig(ctx, opt)
	if err != nil {
		return err
	}
	res.Format(os.Stdout, opt.EID)
	return nil
}

// rlocList is a repeatable --rloc flag.
type rlocList []netip.Addr

func (l *rlocList) String() string {
	s := make([]string, len(*l))
	for i, a := range *l {
		s[i] = a.String()
	}
	return strings.Join(s, ",")
}

func (l *rlocList) Set(v string) error {
	for _, f := range strings.Split(v, ",") {
		a, err := netip.ParseAddr(strings.TrimSpace(f))
		if err != nil {
			return fmt.Errorf("rloc %q: %w", f, err)
		}
		*l = append(*l, a)
	}
	return nil
}

// cmdRegister sends one signed Map-Register, as an xTR would.
func cmdRegister(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("register", flag.ContinueOnError)
	var opt lispclient.RegisterOptions
	var rlocs rlocList
	fs.StringVar(&opt.MS, "ms", envOr("L2LISP_MAP_SERVER", "127.0.0.1:4342"), "Map-Server host:port (env L2LISP_MAP_SERVER)")
	fs.StringVar(&opt.Key, "key", envOr("L2LISP_SITE_KEY", ""), "the site's authentication key (env L2LISP_SITE_KEY)")
	alg := fs.String("alg", "sha256", "authentication: sha1 (HMAC-SHA-1-96) or sha256 (HMAC-SHA-256-128)")
	keyID := fs.Uint("key-id", 0, "key id")
	iid := fs.Uint("iid", 0, "instance-id")
	fs.StringVar(&opt.EID, "eid", "", "EID: IP address, IP prefix or MAC address")
	fs.Var(&rlocs, "rloc", "RLOC address (repeat, or comma-separate)")
	prio := fs.Uint("priority", 1, "RLOC priority")
	weight := fs.Uint("weight", 100, "RLOC weight")
	ttl := fs.Uint("ttl", 1440, "record TTL in minutes")
	fs.BoolVar(&opt.Notify, "notify", false, "ask for a Map-Notify, wait for it and verify it")
	fs.BoolVar(&opt.NoProxy, "no-proxy", false, "clear the proxy-reply bit: Map-Requests are forwarded to this xTR")
	fs.DurationVar(&opt.Timeout, "timeout", lispclient.DefaultClientTimeout, "wait per try (with --notify)")
	fs.IntVar(&opt.Retries, "retries", lispclient.DefaultClientRetries, "tries after the first (with --notify)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if opt.Key == "" || opt.EID == "" || len(rlocs) == 0 {
		return fmt.Errorf("--key, --eid and at least one --rloc are required")
	}
	if *prio > 255 || *weight > 255 || *keyID > 255 || *ttl > 0xffffffff {
		return fmt.Errorf("--priority, --weight and --key-id must be 0-255")
	}
	var err error
	if opt.Alg, err = lispclient.ParseAlg(*alg); err != nil {
		return err
	}
	opt.IID, opt.RLOCs, opt.KeyID = uint32(*iid), rlocs, uint8(*keyID)
	opt.Priority, opt.Weight, opt.TTL = uint8(*prio), uint8(*weight), uint32(*ttl)
	start := time.Now()
	n, err := lispclient.Register(ctx, opt)
	if err != nil {
		return err
	}
	if n == nil {
		fmt.Printf("Sent map-register to %s for [%d]%s with RLOCs %s\n", opt.MS, opt.IID, opt.EID, rlocs.String())
		return nil
	}
	fmt.Printf("Map-Notify from %s verified (%s, nonce 0x%016x) in %.5f secs: [%d]%s registered with RLOCs %s\n",
		opt.MS, n.AlgID, n.Nonce, time.Since(start).Seconds(), opt.IID, opt.EID, rlocs.String())
	return nil
}
