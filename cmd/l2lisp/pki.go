package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/l2lisp/l2lisp/pki"
)

const pkiUsage = `usage: l2lisp pki init|issue [flags] [NAME...]

  init   create the certificate authority in --dir (unless it holds one
         already) and the controller's certificate, valid for the --host
         names and --ip addresses switches and operators reach it at
  issue  create one certificate per xTR NAME (common name = the xTR's name)
         in --dir/xtrs/NAME: cert.pem, key.pem and ca.pem, the files to put
         in the xTR's tls_dir on its switch host

Files in --dir (keys are written mode 0600):
  ca.pem  ca-key.pem  controller.pem  controller-key.pem  xtrs/NAME/{cert,key,ca}.pem
Keep ca-key.pem off the controller host if you can: only init and issue need it.
Then run: l2lisp serve --tls-cert DIR/controller.pem --tls-key DIR/controller-key.pem --tls-ca DIR/ca.pem

run "l2lisp pki CMD -h" for the flags of CMD`

// cmdPKI makes the CA and certificates TLS on every channel needs.
func cmdPKI(_ context.Context, args []string) error {
	if len(args) == 0 {
		return errors.New(pkiUsage)
	}
	var err error
	switch args[0] {
	case "init":
		err = pkiRun(args[1:], os.Stdout, false)
	case "issue":
		err = pkiRun(args[1:], os.Stdout, true)
	case "-h", "-help", "--help", "help":
		fmt.Fprintln(os.Stdout, pkiUsage)
	default:
		err = fmt.Errorf("unknown command %q\n%s", args[0], pkiUsage)
	}
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	return err
}

// multiFlag collects the comma-separated values of a repeatable flag.
type multiFlag []string

func (l *multiFlag) String() string { return strings.Join(*l, ",") }

func (l *multiFlag) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*l = append(*l, s)
		}
	}
	return nil
}

func pkiRun(args []string, w io.Writer, issue bool) error {
	name := "pki init"
	if issue {
		name = "pki issue"
	}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	dir := fs.String("dir", envOr("L2LISP_PKI_DIR", "./pki"), "PKI directory (env L2LISP_PKI_DIR)")
	var hosts, ips multiFlag
	fs.Var(&hosts, "host", "DNS name to put in the certificate, comma-separated or repeated")
	fs.Var(&ips, "ip", "IP address to put in the certificate, comma-separated or repeated")
	days := fs.Int("days", int(pki.DefaultLeafValidity/(24*time.Hour)), "validity of the certificates, days")
	force := fs.Bool("force", false, "replace existing certificates and keys (the CA is always kept)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "%s\n\nflags of %s:\n", pkiUsage, name)
		fs.PrintDefaults()
	}
	names, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	opt := pki.Options{Hosts: hosts, Validity: time.Duration(*days) * 24 * time.Hour, Force: *force}
	if *days < 1 {
		return fmt.Errorf("--days %d: want at least 1", *days)
	}
	for _, s := range ips {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return fmt.Errorf("--ip %q: %w", s, err)
		}
		opt.IPs = append(opt.IPs, a)
	}
	if !issue {
		if len(names) > 0 {
			return fmt.Errorf("pki init takes no arguments (got %q)", names[0])
		}
		if len(hosts)+len(ips) == 0 {
			return errors.New("pki init: give the controller's --host names and/or --ip addresses, as clients and switches reach it")
		}
		written, err := pki.Init(*dir, opt)
		printWritten(w, written)
		return err
	}
	if len(names) == 0 {
		return errors.New("pki issue: name at least one xTR")
	}
	for _, n := range names {
		written, err := pki.IssueXTR(*dir, n, opt)
		printWritten(w, written)
		if err != nil {
			return err
		}
	}
	return nil
}

func printWritten(w io.Writer, files []string) {
	for _, f := range files {
		fmt.Fprintf(w, "wrote %s\n", filepath.Clean(f))
	}
}
