package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/l2lisp/l2lisp/northbound/client"
	"github.com/l2lisp/l2lisp/pki"
)

// The operators' CLI: one command per kind of object (network, site, xtr,
// port, mapping, token) with verbs, plus lookup and events, all over the REST API.

// defaultServer is where serve listens unless told otherwise.
const defaultServer = "https://127.0.0.1:8080"

// Exit codes of the CLI.
const (
	exitOK        = 0
	exitError     = 1
	exitUsage     = 2
	exitInterrupt = 130
)

// session is one run of a CLI command: its streams, environment and client.
type session struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	lookupEnv      func(string) (string, bool)
	tty            bool // stderr is a terminal: draw progress bars
	json           bool // -o json
	c              *client.Client
}

// runner is what a verb does once its flags and arguments are parsed.
type runner func(ctx context.Context, x *session, args []string) error

// verb is one subcommand: "add" of "network add". An empty name is the
// command itself (lookup, events).
type verb struct {
	name     string
	args     string // the positional arguments, for the usage line
	min, max int    // how many positional arguments
	help     string
	setup    func(fs *flag.FlagSet) runner // defines the verb's flags
}

// cliGroups are the CLI's commands, each a table of verbs.
func cliGroups() map[string][]verb {
	return map[string][]verb{
		"network":      networkVerbs(),
		"site":         siteVerbs(),
		"xtr":          xtrVerbs(),
		"port":         portVerbs(),
		"mapping":      mappingVerbs(),
		"lookup":       lookupVerbs(),
		"events":       eventsVerbs(),
		"token":        tokenVerbs(),
		"subscription": subscriptionVerbs(),
		"cluster":      clusterVerbs(),
	}
}

// noFlags is setup for a verb without flags of its own.
func noFlags(r runner) func(*flag.FlagSet) runner {
	return func(*flag.FlagSet) runner { return r }
}

// usageError is a mistake in the command line: exit 2 with the usage.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return usageError{fmt.Sprintf(format, a...)} }

// cliCommand adapts a CLI command to main's command table.
func cliCommand(name string) command {
	return func(ctx context.Context, args []string) error {
		x := &session{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, lookupEnv: os.LookupEnv, tty: isTerminal(os.Stderr)}
		if code := x.run(ctx, name, args); code != exitOK {
			os.Exit(code)
		}
		return nil
	}
}

func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// run parses and runs "l2lisp NAME args..." and returns the exit code.
func (x *session) run(ctx context.Context, name string, args []string) int {
	verbs := cliGroups()[name]
	v, rest, ok := pickVerb(verbs, args)
	if !ok {
		groupUsage(x.stderr, name, verbs)
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
			return exitOK
		}
		return exitUsage
	}
	full := strings.TrimSpace("l2lisp " + name + " " + v.name)
	fs := flag.NewFlagSet(full, flag.ContinueOnError)
	fs.SetOutput(x.stderr)
	var conn connFlags
	conn.define(fs)
	do := v.setup(fs)
	fs.Usage = func() {
		fmt.Fprintf(x.stderr, "usage: %s %s [flags]\n\n%s\n\nflags:\n", full, v.args, v.help)
		fs.PrintDefaults()
	}
	pos, err := parseInterspersed(fs, rest)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	} else if err != nil {
		return exitUsage // flag has printed the error and the usage
	}
	if len(pos) < v.min || len(pos) > v.max {
		fmt.Fprintf(x.stderr, "error: %s takes %s\n", full, describeArgs(v))
		fs.Usage()
		return exitUsage
	}
	err = x.connect(conn)
	if err == nil {
		err = do(ctx, x, pos)
	}
	return x.report(err, fs)
}

// pickVerb finds the verb named by args[0], or the command's only verb.
func pickVerb(verbs []verb, args []string) (verb, []string, bool) {
	if len(verbs) == 1 && verbs[0].name == "" {
		return verbs[0], args, true
	}
	if len(args) == 0 {
		return verb{}, nil, false
	}
	for _, v := range verbs {
		if v.name == args[0] {
			return v, args[1:], true
		}
	}
	return verb{}, nil, false
}

func describeArgs(v verb) string {
	if v.max == 0 {
		return "no arguments"
	}
	return "arguments " + v.args
}

func groupUsage(w io.Writer, name string, verbs []verb) {
	fmt.Fprintf(w, "usage: l2lisp %s VERB [flags] ARGS\n\nverbs:\n", name)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, v := range verbs {
		fmt.Fprintf(tw, "  %s %s\t%s\n", v.name, v.args, v.help)
	}
	_ = tw.Flush()
	fmt.Fprintf(w, "\nRun 'l2lisp %s VERB -h' for a verb's flags.\n", name)
}

// parseInterspersed lets flags follow arguments ("show dc1 -o json"), as
// operators type them; after "--" everything is an argument.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if len(args) > len(rest) && args[len(args)-len(rest)-1] == "--" {
			return append(pos, rest...), nil
		}
		pos, args = append(pos, rest[0]), rest[1:]
	}
}

// report prints err the way operators read it and returns the exit code.
func (x *session) report(err error, fs *flag.FlagSet) int {
	var ae *client.APIError
	var ue usageError
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, context.Canceled):
		return exitInterrupt
	case errors.As(err, &ue):
		fmt.Fprintf(x.stderr, "error: %s\n", ue.msg)
		fs.Usage()
		return exitUsage
	case errors.As(err, &ae):
		fmt.Fprintf(x.stderr, "error: %s\n", ae.Error())
	default:
		fmt.Fprintf(x.stderr, "error: %v\n", err)
	}
	return exitError
}

// connFlags are the flags every verb has.
type connFlags struct {
	server, token, ca, output string
}

func (c *connFlags) define(fs *flag.FlagSet) {
	fs.StringVar(&c.server, "server", "", "controller URL (env L2LISP_SERVER, else the config file, else "+defaultServer+")")
	fs.StringVar(&c.token, "token", "", "API bearer token (env L2LISP_TOKEN, else the config file)")
	fs.StringVar(&c.ca, "ca", "", "CA certificate (PEM) the controller's certificate must chain to (env L2LISP_CA, else the config file, else the system's)")
	fs.StringVar(&c.output, "o", "table", "output: table or json (the API's JSON, for scripts)")
	fs.StringVar(&c.output, "output", "table", "same as -o")
}

// cliConfig is the config file: ~/.config/l2lisp/config.json or $L2LISP_CONFIG.
type cliConfig struct {
	Server string `json:"server"`
	Token  string `json:"token"`
	CA     string `json:"ca"` // path of the CA certificate
}

// connect builds the client: flags win over the environment, which wins
// over the config file.
func (x *session) connect(f connFlags) error {
	switch f.output {
	case "table":
	case "json":
		x.json = true
	default:
		return usagef("-o %q: want table or json", f.output)
	}
	server, token, ca := f.server, f.token, f.ca
	if server == "" {
		server, _ = x.lookupEnv("L2LISP_SERVER")
	}
	if token == "" {
		token, _ = x.lookupEnv("L2LISP_TOKEN")
	}
	if ca == "" {
		ca, _ = x.lookupEnv("L2LISP_CA")
	}
	if server == "" || token == "" || ca == "" {
		cfg, err := x.readConfig()
		if err != nil {
			return err
		}
		server, token, ca = firstSet(server, cfg.Server), firstSet(token, cfg.Token), firstSet(ca, cfg.CA)
	}
	server = firstSet(server, defaultServer)
	if !strings.Contains(server, "://") {
		server = "https://" + server
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.ResponseHeaderTimeout = 30 * time.Second // a hung controller fails the command instead of hanging it
	tr.MaxIdleConnsPerHost = 32                 // import workers reuse their connections
	if ca != "" {
		cfg, err := pki.ClientTrusting(ca)
		if err != nil {
			return fmt.Errorf("--ca: %w", err)
		}
		tr.TLSClientConfig = cfg
	}
	x.c = client.New(server, token, &http.Client{Transport: tr})
	return nil
}

// firstSet returns the first non-empty string.
func firstSet(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func (x *session) readConfig() (cliConfig, error) {
	var cfg cliConfig
	path, explicit := x.lookupEnv("L2LISP_CONFIG")
	if !explicit || path == "" {
		home, ok := x.lookupEnv("HOME")
		if !ok || home == "" {
			return cfg, nil
		}
		path, explicit = filepath.Join(home, ".config", "l2lisp", "config.json"), false
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) && !explicit {
		return cfg, nil // no config file is fine; a named one must exist
	}
	if err != nil {
		return cfg, fmt.Errorf("config: %w", err)
	}
	if err := json.Unmarshal(b, &cfg); err != nil {
		return cfg, fmt.Errorf("config %s: %w", path, err)
	}
	return cfg, nil
}

// show makes one API call and prints its answer: the API's JSON with
// -o json, else what table writes, aligned.
func show[T any](ctx context.Context, x *session, call func(context.Context) (T, error), table func(w io.Writer, v T)) error {
	var raw json.RawMessage
	v, err := call(client.WithRawBody(ctx, &raw))
	if err != nil {
		return err
	}
	if x.json {
		return x.writeJSON(raw)
	}
	tw := tabwriter.NewWriter(x.stdout, 0, 4, 2, ' ', 0)
	table(tw, v)
	return tw.Flush()
}

// act makes one API call that answers nothing (a delete) and says so.
func act(ctx context.Context, x *session, call func(context.Context) error, format string, a ...any) error {
	if err := call(ctx); err != nil {
		return err
	}
	if !x.json {
		fmt.Fprintf(x.stdout, format+"\n", a...)
	}
	return nil
}

func (x *session) writeJSON(raw []byte) error {
	var b bytes.Buffer
	if err := json.Indent(&b, raw, "", "  "); err != nil {
		return fmt.Errorf("format JSON: %w", err)
	}
	b.WriteByte('\n')
	_, err := x.stdout.Write(b.Bytes())
	return err
}

// row writes one tab-separated table line.
func row(w io.Writer, cols ...any) {
	s := make([]string, len(cols))
	for i, c := range cols {
		s[i] = fmt.Sprint(c)
		if s[i] == "" {
			s[i] = "-"
		}
	}
	fmt.Fprintln(w, strings.Join(s, "\t"))
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format("2006-01-02 15:04:05")
}

func joinList[T any](xs []T) string {
	s := make([]string, len(xs))
	for i, v := range xs {
		s[i] = fmt.Sprint(v)
	}
	return strings.Join(s, ",")
}

// optInt is an integer flag that knows whether it was given.
type optInt struct{ v *int64 }

func (o *optInt) String() string {
	if o == nil || o.v == nil {
		return ""
	}
	return strconv.FormatInt(*o.v, 10)
}

func (o *optInt) Set(s string) error {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return errors.New("not an integer")
	}
	o.v = &n
	return nil
}

// listFlag is a comma-separated list flag; given as "", it is an empty
// list (which a PATCH sends to clear the field).
type listFlag struct{ v *[]string }

func (l *listFlag) String() string {
	if l == nil || l.v == nil {
		return ""
	}
	return strings.Join(*l.v, ",")
}

func (l *listFlag) Set(s string) error {
	items := []string{}
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			items = append(items, p)
		}
	}
	l.v = &items
	return nil
}

// ints converts a list flag of integers.
func (l *listFlag) ints(name string) (*[]int64, error) {
	if l.v == nil {
		return nil, nil
	}
	out := make([]int64, 0, len(*l.v))
	for _, s := range *l.v {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nil, usagef("--%s: %q is not an integer", name, s)
		}
		out = append(out, n)
	}
	return &out, nil
}

// parseIID reads an instance-id argument.
func parseIID(s string) (int64, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, usagef("instance-id %q is not an integer", s)
	}
	return n, nil
}
