package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"

	"github.com/l2lisp/l2lisp/northbound/client"
)

// importItem is one mapping of an import file: a body to POST, or the
// reason it could not even be read.
type importItem struct {
	line int
	body any // client.MappingInput (CSV) or json.RawMessage (JSON, sent as is)
	err  *client.APIError
}

// importResult is the outcome of one item.
type importResult struct {
	status int
	err    *client.APIError
}

func mappingImport(fs *flag.FlagSet) runner {
	var format string
	var workers int
	fs.StringVar(&format, "format", "", "csv or json (default: from the file name, else from its first character)")
	fs.IntVar(&workers, "workers", 4, "concurrent requests")
	return func(ctx context.Context, x *session, a []string) error {
		if workers < 1 || workers > 64 {
			return usagef("--workers: want 1-64")
		}
		data, err := x.readFile(a[0])
		if err != nil {
			return err
		}
		items, err := parseImport(data, importFormat(format, a[0], data))
		if err != nil {
			return fmt.Errorf("%s: %w", a[0], err)
		}
		results, err := x.postAll(ctx, items, workers)
		if err != nil {
			return err
		}
		return x.importSummary(items, results)
	}
}

func (x *session) readFile(name string) ([]byte, error) {
	if name == "-" {
		b, err := io.ReadAll(x.stdin)
		if err != nil {
			return nil, fmt.Errorf("read stdin: %w", err)
		}
		return b, nil
	}
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("read import file: %w", err)
	}
	return b, nil
}

func importFormat(flagged, name string, data []byte) string {
	switch {
	case flagged != "":
		return flagged
	case strings.EqualFold(filepath.Ext(name), ".json"):
		return "json"
	case strings.EqualFold(filepath.Ext(name), ".csv"):
		return "csv"
	case bytes.HasPrefix(bytes.TrimSpace(data), []byte("[")):
		return "json"
	}
	return "csv"
}

func parseImport(data []byte, format string) ([]importItem, error) {
	switch format {
	case "csv":
		return parseCSV(data)
	case "json":
		return parseJSON(data)
	}
	return nil, usagef("--format %q: want csv or json", format)
}

// localError is a refusal found before asking the API, in its shape.
func localError(field, format string, a ...any) *client.APIError {
	return &client.APIError{Code: "invalid", Field: field, Message: fmt.Sprintf(format, a...)}
}

// csvColumns are the columns of an import CSV; rlocs and ttl may be absent.
var csvColumns = []string{"instance_id", "eid", "site", "rlocs", "ttl"}

// parseCSV reads "instance_id,eid,site,rlocs,ttl" lines, rlocs as
// "addr/prio/weight;addr/prio/weight". A bad line is refused, not fatal.
func parseCSV(data []byte) ([]importItem, error) {
	r := csv.NewReader(bytes.NewReader(data))
	r.Comment, r.TrimLeadingSpace, r.FieldsPerRecord = '#', true, -1
	header, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("CSV header: %w", err)
	}
	col := map[string]int{}
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		if !slices.Contains(csvColumns, h) {
			return nil, fmt.Errorf("CSV header: unknown column %q (want %s)", h, strings.Join(csvColumns, ","))
		}
		col[h] = i
	}
	for _, need := range csvColumns[:3] {
		if _, ok := col[need]; !ok {
			return nil, fmt.Errorf("CSV header: column %q is missing", need)
		}
	}
	var items []importItem
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return items, nil
		}
		if err != nil {
			return nil, fmt.Errorf("CSV: %w", err)
		}
		line, _ := r.FieldPos(0)
		it := importItem{line: line}
		if len(rec) != len(header) {
			it.err = localError("", "%d fields, the header has %d", len(rec), len(header))
		} else {
			it.body, it.err = csvMapping(rec, col)
		}
		items = append(items, it)
	}
}

func csvMapping(rec []string, col map[string]int) (client.MappingInput, *client.APIError) {
	get := func(name string) string {
		if i, ok := col[name]; ok {
			return strings.TrimSpace(rec[i])
		}
		return ""
	}
	in := client.MappingInput{EID: get("eid"), Site: get("site")}
	iid, err := strconv.ParseInt(get("instance_id"), 10, 64)
	if err != nil {
		return in, localError("instance_id", "instance_id must be an integer")
	}
	in.InstanceID = iid
	if s := get("ttl"); s != "" {
		ttl, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return in, localError("ttl", "ttl must be an integer")
		}
		in.TTL = &ttl
	}
	if in.RLOCs, err = parseRLOCs(get("rlocs")); err != nil {
		return in, localError("rlocs", "%v", err)
	}
	return in, nil
}

// parseJSON reads an array of POST /mappings bodies; each is sent as it is
// so that the API judges it, and is known by the line it starts on.
func parseJSON(data []byte) ([]importItem, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
		return nil, errors.New("JSON: want an array of mappings")
	}
	var items []importItem
	for dec.More() {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, fmt.Errorf("JSON item %d: %w", len(items)+1, err)
		}
		start := int(dec.InputOffset()) - len(raw)
		items = append(items, importItem{line: 1 + bytes.Count(data[:start], []byte("\n")), body: raw})
	}
	if _, err := dec.Token(); err != nil {
		return nil, fmt.Errorf("JSON: %w", err)
	}
	return items, nil
}

// Import requests carry at most importChunk items and importBytes of
// JSON, under the API's 1 MiB body limit.
const (
	importChunk = 5000
	importBytes = 900 << 10
)

// postAll sends the readable items in chunks through POST
// /mappings/import with a few workers, showing progress. A chunk the API
// refuses whole (an item it cannot even decode) is sent again one item at
// a time, so that each refusal still names its line.
func (x *session) postAll(ctx context.Context, items []importItem, workers int) ([]importResult, error) {
	results := make([]importResult, len(items))
	bar := &progress{w: x.stderr, tty: x.tty, total: len(items)}
	jobs := make(chan []int)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for chunk := range jobs {
				x.postChunk(ctx, items, chunk, results)
				for _, i := range chunk {
					bar.add(results[i].err != nil)
				}
			}
		})
	}
	var chunk []int
	size := 0
	send := func() {
		if len(chunk) > 0 && ctx.Err() == nil {
			jobs <- chunk
		}
		chunk, size = nil, 0
	}
	for i := range items {
		if items[i].err != nil {
			results[i] = importResult{err: items[i].err}
			bar.add(true)
			continue
		}
		n := len(items[i].raw())
		if len(chunk) == importChunk || size+n > importBytes {
			send()
		}
		chunk, size = append(chunk, i), size+n+1
	}
	send()
	close(jobs)
	wg.Wait()
	bar.finish()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	return results, nil
}

// raw is the item's JSON body.
func (it *importItem) raw() json.RawMessage {
	if b, ok := it.body.(json.RawMessage); ok {
		return b
	}
	b, _ := json.Marshal(it.body)
	it.body = json.RawMessage(b)
	return b
}

// postChunk imports the items at indexes chunk with one request.
func (x *session) postChunk(ctx context.Context, items []importItem, chunk []int, results []importResult) {
	bodies := make([]any, len(chunk))
	for k, i := range chunk {
		bodies[k] = items[i].raw()
	}
	res, err := x.c.ImportMappings(ctx, bodies)
	var ae *client.APIError
	switch {
	case errors.As(err, &ae) && ae.Status == http.StatusBadRequest:
		for _, i := range chunk {
			results[i] = x.postOne(ctx, items[i])
		}
		return
	case errors.As(err, &ae):
		for _, i := range chunk {
			results[i] = importResult{status: ae.Status, err: ae}
		}
		return
	case err == nil && len(res.Results) != len(chunk):
		err = fmt.Errorf("the server answered %d results for %d mappings", len(res.Results), len(chunk))
	}
	if err != nil {
		for _, i := range chunk {
			results[i] = importResult{err: &client.APIError{Code: "transport", Message: err.Error()}}
		}
		return
	}
	for k, i := range chunk {
		r := res.Results[k]
		results[i] = importResult{status: r.Status}
		if r.Error != nil {
			r.Error.Status = r.Status
			results[i].err = r.Error
		}
	}
}

func (x *session) postOne(ctx context.Context, it importItem) importResult {
	if it.err != nil {
		return importResult{err: it.err}
	}
	status, err := x.c.Do(ctx, http.MethodPost, "/mappings", nil, it.body, nil)
	var ae *client.APIError
	switch {
	case err == nil:
		return importResult{status: status}
	case errors.As(err, &ae):
		return importResult{status: status, err: ae}
	}
	return importResult{err: &client.APIError{Code: "transport", Message: err.Error()}}
}

// progress is a text progress bar on a terminal, one final line elsewhere.
type progress struct {
	mu                   sync.Mutex
	w                    io.Writer
	tty                  bool
	total, done, refused int
	drawn                int // permille last drawn, to redraw only on change
}

const barWidth = 30

func (p *progress) add(refused bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done++
	if refused {
		p.refused++
	}
	if pm := p.done * 1000 / max(p.total, 1); p.tty && pm != p.drawn {
		p.drawn = pm
		p.draw()
	}
}

func (p *progress) draw() {
	n := p.done * barWidth / max(p.total, 1)
	fmt.Fprintf(p.w, "\r[%s%s] %3d%% %d/%d (%d refused)", strings.Repeat("#", n), strings.Repeat(".", barWidth-n),
		p.done*100/max(p.total, 1), p.done, p.total, p.refused)
}

func (p *progress) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tty {
		p.draw()
		fmt.Fprintln(p.w)
		return
	}
	fmt.Fprintf(p.w, "import: %d/%d mappings sent, %d refused\n", p.done, p.total, p.refused)
}

// refusal is one group of the summary: the same error on several lines.
type refusal struct {
	Code    string `json:"code"`
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
	Count   int    `json:"count"`
	Lines   []int  `json:"lines"`
}

type importReport struct {
	Total    int       `json:"total"`
	Created  int       `json:"created"`
	Replaced int       `json:"replaced"`
	Refused  int       `json:"refused"`
	Errors   []refusal `json:"errors"`
}

func summarize(items []importItem, results []importResult) importReport {
	rep := importReport{Total: len(items), Errors: []refusal{}}
	group := map[[3]string]int{}
	for i, r := range results {
		switch {
		case r.err != nil:
			rep.Refused++
			k := [3]string{r.err.Code, r.err.Field, r.err.Message}
			g, ok := group[k]
			if !ok {
				g = len(rep.Errors)
				group[k] = g
				rep.Errors = append(rep.Errors, refusal{Code: k[0], Field: k[1], Message: k[2]})
			}
			rep.Errors[g].Count++
			rep.Errors[g].Lines = append(rep.Errors[g].Lines, items[i].line)
		case r.status == http.StatusCreated:
			rep.Created++
		default:
			rep.Replaced++
		}
	}
	slices.SortStableFunc(rep.Errors, func(a, b refusal) int { return b.Count - a.Count })
	return rep
}

// maxLines bounds the line numbers listed per group of refusals.
const maxLines = 20

func (x *session) importSummary(items []importItem, results []importResult) error {
	rep := summarize(items, results)
	if x.json {
		b, err := json.Marshal(rep)
		if err != nil {
			return fmt.Errorf("encode summary: %w", err)
		}
		if err := x.writeJSON(b); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(x.stdout, "%d mappings: %d created, %d replaced, %d refused\n", rep.Total, rep.Created, rep.Replaced, rep.Refused)
		if rep.Refused > 0 {
			tw := tabwriter.NewWriter(x.stdout, 0, 4, 2, ' ', 0)
			row(tw, "COUNT", "CODE", "FIELD", "MESSAGE", "LINES")
			for _, g := range rep.Errors {
				row(tw, g.Count, g.Code, g.Field, g.Message, fmtLines(g.Lines))
			}
			if err := tw.Flush(); err != nil {
				return fmt.Errorf("write summary: %w", err)
			}
		}
	}
	if rep.Refused > 0 {
		return fmt.Errorf("%d of %d mappings refused", rep.Refused, rep.Total)
	}
	return nil
}

func fmtLines(ls []int) string {
	s := joinList(ls[:min(len(ls), maxLines)])
	if len(ls) > maxLines {
		s += fmt.Sprintf(",... (%d more)", len(ls)-maxLines)
	}
	return s
}
