package bc

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/tidwall/gjson"

	"github.com/coupler/coupler/internal/odata"
)

// Query holds the OData query options of a read. Zero values are absent.
type Query struct {
	Filter      string   // OData $filter, e.g. "number eq '10000'"
	Select      []string // $select
	OrderBy     []string // $orderby items, e.g. "displayName desc"
	Expand      []string // $expand, e.g. "salesOrderLines"
	Top, Skip   int      // $top/$skip; note $top stops server paging (no nextLink)
	Count       bool     // $count=true (Page.Count)
	MaxPageSize int      // Prefer: odata.maxpagesize (BC's page is 20,000 otherwise)
}

// Encode renders the query string with %20 for spaces (OData servers read
// '+' literally).
func (q Query) Encode() string {
	var parts []string
	add := func(k, v string) { parts = append(parts, k+"="+escapeQuery(v)) }
	if q.Filter != "" {
		add("$filter", q.Filter)
	}
	if len(q.Select) > 0 {
		add("$select", strings.Join(q.Select, ","))
	}
	if len(q.OrderBy) > 0 {
		add("$orderby", strings.Join(q.OrderBy, ","))
	}
	if len(q.Expand) > 0 {
		add("$expand", strings.Join(q.Expand, ","))
	}
	if q.Top > 0 {
		add("$top", strconv.Itoa(q.Top))
	}
	if q.Skip > 0 {
		add("$skip", strconv.Itoa(q.Skip))
	}
	if q.Count {
		add("$count", "true")
	}
	return strings.Join(parts, "&")
}

func escapeQuery(s string) string {
	return strings.ReplaceAll(url.QueryEscape(s), "+", "%20")
}

func (q Query) validate() error {
	if q.Top < 0 || q.Skip < 0 || q.MaxPageSize < 0 {
		return fmt.Errorf("bc: query: $top (%d), $skip (%d) and max page size (%d) must not be negative", q.Top, q.Skip, q.MaxPageSize)
	}
	return nil
}

// Page is one server page of a collection.
type Page struct {
	Records  []json.RawMessage
	Fields   []map[string]any // the records decoded, instead of Records, for ListFields
	Count    int64            // @odata.count, -1 when not asked for
	NextLink string
}

// List reads every record of entitySet matching q, page by page, following
// @odata.nextLink. fn sees each page once; an error from fn stops the walk
// and is returned as is.
func (c *Client) List(ctx context.Context, entitySet string, q Query, fn func(page []json.RawMessage) error) error {
	return c.ListPages(ctx, entitySet, q, func(p Page) error { return fn(p.Records) })
}

// ListPages is List with the page's count and next link.
func (c *Client) ListPages(ctx context.Context, entitySet string, q Query, fn func(Page) error) error {
	u, err := c.listURL(entitySet, q)
	if err != nil {
		return err
	}
	return c.walk(ctx, setName(entitySet), u, q.MaxPageSize, false, fn)
}

// ListFields is List with each record decoded once, straight from the page, into a map
// whose numbers are json.Number: callers that want the fields need not parse the record a
// second time (2 s per 100,000 customers, docs/benchmarks.md). A record that is not an
// object fails the page; null gives a nil map.
func (c *Client) ListFields(ctx context.Context, entitySet string, q Query, fn func(page []map[string]any) error) error {
	u, err := c.listURL(entitySet, q)
	if err != nil {
		return err
	}
	return c.walk(ctx, setName(entitySet), u, q.MaxPageSize, true, func(p Page) error { return fn(p.Fields) })
}

func (c *Client) listURL(entitySet string, q Query) (string, error) {
	if err := q.validate(); err != nil {
		return "", err
	}
	u, err := c.companyURL(entitySet)
	if err != nil {
		return "", err
	}
	if enc := q.Encode(); enc != "" {
		u += "?" + enc
	}
	return u, nil
}

// Count returns how many records of entitySet match filter ("" = all),
// from the OData /$count segment: one small request, for progress bars.
func (c *Client) Count(ctx context.Context, entitySet, filter string) (int64, error) {
	u, err := c.companyURL(entitySet)
	if err != nil {
		return 0, err
	}
	u += "/$count"
	if filter != "" {
		u += "?$filter=" + escapeQuery(filter)
	}
	var n int64
	_, err = c.do(ctx, request{method: http.MethodGet, url: u, set: setName(entitySet), idempotent: true,
		header: http.Header{"Accept": {"text/plain"}},
		accept: func(r *http.Response) error {
			b, err := io.ReadAll(io.LimitReader(r.Body, 64))
			if err != nil {
				return fmt.Errorf("bc: reading %s/$count: %w", entitySet, err)
			}
			n, err = strconv.ParseInt(strings.TrimSpace(string(bytes.TrimPrefix(b, []byte("\ufeff")))), 10, 64)
			if err != nil {
				return fmt.Errorf("bc: %s/$count answered %q, not a number", entitySet, b)
			}
			return nil
		}})
	return n, err
}

// ListCompanies reads the companies of the API root (the one set outside a company).
func (c *Client) ListCompanies(ctx context.Context) ([]Company, error) {
	var out []Company
	err := c.walk(ctx, "companies", c.root.String()+"/companies", 0, false, func(p Page) error {
		for _, r := range p.Records {
			var co Company
			if err := json.Unmarshal(r, &co); err != nil {
				return fmt.Errorf("bc: decoding company: %w", err)
			}
			out = append(out, co)
		}
		return nil
	})
	return out, err
}

// walk reads the pages from u on; fields decodes their records into Page.Fields.
func (c *Client) walk(ctx context.Context, set, u string, maxPage int, fields bool, fn func(Page) error) error {
	var h http.Header
	if maxPage > 0 {
		h = http.Header{"Prefer": {"odata.maxpagesize=" + strconv.Itoa(maxPage)}}
	}
	if fields {
		return c.walkFields(ctx, set, u, h, fn)
	}
	seen := map[string]bool{}
	for u != "" {
		if seen[u] {
			return fmt.Errorf("bc: listing %s: the server returned the same @odata.nextLink twice (%s); stopping to avoid a loop", set, pathOnly(u))
		}
		seen[u] = true
		var page Page
		_, err := c.do(ctx, request{method: http.MethodGet, url: u, set: set, header: h, idempotent: true,
			accept: func(resp *http.Response) error {
				var err error
				page, err = readPage(resp.Body, false)
				if err != nil {
					return fmt.Errorf("bc: listing %s: %w", set, err)
				}
				return nil
			}})
		if err != nil {
			return err
		}
		if err := fn(page); err != nil {
			return err
		}
		if page.NextLink != "" {
			if err := c.checkSameOrigin(page.NextLink); err != nil {
				return fmt.Errorf("bc: listing %s: %w", set, err)
			}
		}
		u = page.NextLink
	}
	return nil
}

// checkSameOrigin refuses a nextLink pointing elsewhere: the client would
// send its credentials there.
func (c *Client) checkSameOrigin(link string) error {
	nu, err := url.Parse(link)
	if err != nil {
		return fmt.Errorf("@odata.nextLink %q is not a URL: %w", link, err)
	}
	if !nu.IsAbs() || nu.Scheme != c.root.URL.Scheme || !strings.EqualFold(nu.Host, c.root.URL.Host) {
		return fmt.Errorf("@odata.nextLink %q is not on the API host %s://%s; refusing to follow it", link, c.root.URL.Scheme, c.root.URL.Host)
	}
	return nil
}

// decodePage streams {"value":[…], "@odata.nextLink": …, "@odata.count": …}
// so a 20,000-record page is held once, not twice.
func decodePage(r io.Reader) (Page, error) { return readPage(r, false) }

// decodeFieldsPage is decodePage with the records decoded into Page.Fields,
// numbers as json.Number. A page (5,000 records for the engine) is read
// whole and decoded by odata.Decoder, in a third of encoding/json's time;
// a page it does not take as it comes (bad JSON, a record that is not an
// object, an odd @odata.count) is read again by the streaming reader, for
// the same error as the raw read's.
func decodeFieldsPage(r io.Reader) (Page, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return Page{Count: -1}, fmt.Errorf("reading page: %w", err)
	}
	return decodeFieldsBytes(b)
}

// decodeFieldsBytes is decodeFieldsPage over an answer already read; the
// page shares no memory with b.
func decodeFieldsBytes(b []byte) (Page, error) {
	if p, ok := fastFieldsPage(b); ok {
		return p, nil
	}
	return readPage(bytes.NewReader(b), true)
}

// fastFieldsPage decodes a well-formed page; ok is false for any other.
func fastFieldsPage(b []byte) (Page, bool) {
	d := odata.NewDecoder()
	raw, err := d.Page(b)
	if err != nil || !raw.HasValue {
		return Page{}, false
	}
	p := Page{Count: int64(raw.Count), NextLink: raw.NextLink}
	if len(raw.Value) > 0 {
		p.Fields = make([]map[string]any, 0, len(raw.Value))
	}
	for _, v := range raw.Value {
		if v.Type == gjson.Null {
			p.Fields = append(p.Fields, nil)
			continue
		}
		f, err := d.Element(v)
		if err != nil {
			return Page{}, false
		}
		p.Fields = append(p.Fields, f)
	}
	return p, true
}

func readPage(r io.Reader, fields bool) (Page, error) {
	p := Page{Count: -1}
	dec := json.NewDecoder(r)
	if fields {
		dec.UseNumber() // only interface values: @odata.count still decodes into an int64
	}
	if err := expectDelim(dec, '{'); err != nil {
		return p, err
	}
	sawValue := false
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return p, fmt.Errorf("reading page: %w", err)
		}
		key, _ := t.(string)
		switch key {
		case "value":
			if err := expectDelim(dec, '['); err != nil {
				return p, err
			}
			for dec.More() {
				if err := decodeRecord(dec, &p, fields); err != nil {
					return p, err
				}
			}
			if _, err := dec.Token(); err != nil {
				return p, fmt.Errorf("reading page: %w", err)
			}
			sawValue = true
		case "@odata.nextLink":
			if err := dec.Decode(&p.NextLink); err != nil {
				return p, fmt.Errorf("reading @odata.nextLink: %w", err)
			}
		case "@odata.count":
			if err := dec.Decode(&p.Count); err != nil {
				return p, fmt.Errorf("reading @odata.count: %w", err)
			}
		default:
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return p, fmt.Errorf("reading page property %q: %w", key, err)
			}
		}
	}
	if !sawValue {
		return p, errors.New("answer is not a collection: no \"value\" array")
	}
	return p, nil
}

// decodeRecord appends the next record of the value array to p.Records, or p.Fields.
func decodeRecord(dec *json.Decoder, p *Page, fields bool) error {
	if fields {
		var f map[string]any
		if err := dec.Decode(&f); err != nil {
			return fmt.Errorf("reading record %d of page: %w", len(p.Fields)+1, err)
		}
		p.Fields = append(p.Fields, f)
		return nil
	}
	var rec json.RawMessage
	if err := dec.Decode(&rec); err != nil {
		return fmt.Errorf("reading record %d of page: %w", len(p.Records)+1, err)
	}
	p.Records = append(p.Records, rec)
	return nil
}

func expectDelim(dec *json.Decoder, d json.Delim) error {
	t, err := dec.Token()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return io.ErrUnexpectedEOF
		}
		return fmt.Errorf("reading page: %w", err)
	}
	if got, ok := t.(json.Delim); !ok || got != d {
		return fmt.Errorf("reading page: expected %q, got %v", d, t)
	}
	return nil
}

// CursorLayout is how lastModifiedDateTime cursors are written in $filter:
// milliseconds, UTC, as BC stores them.
const CursorLayout = "2006-01-02T15:04:05.000Z"

// ListModifiedSince lists the records of entitySet whose
// lastModifiedDateTime is after since minus Config.CursorOverlap (all records
// when since is zero), with q.Filter AND-ed, and returns the new cursor: the
// greatest lastModifiedDateTime of the pages fn accepted (never less than
// since). The overlap (default 1 ms, BC's precision) re-reads the cursor's
// own millisecond, because a record written in that millisecond after the
// last read would otherwise be missed; callers see such records twice and
// must tolerate it (compare ETags). Raise it when writers commit late.
func (c *Client) ListModifiedSince(ctx context.Context, entitySet string, since time.Time, q Query, fn func(page []json.RawMessage) error) (time.Time, error) {
	cursor := since
	if !since.IsZero() {
		from := since.UTC().Add(-c.cfg.CursorOverlap).Truncate(time.Millisecond)
		f := "lastModifiedDateTime gt " + from.Format(CursorLayout)
		if q.Filter != "" {
			f += " and (" + q.Filter + ")"
		}
		q.Filter = f
	}
	if len(q.Select) > 0 && !containsFold(q.Select, "lastModifiedDateTime") {
		q.Select = append(append([]string(nil), q.Select...), "lastModifiedDateTime")
	}
	err := c.List(ctx, entitySet, q, func(page []json.RawMessage) error {
		pageMax := cursor
		for i, r := range page {
			t, err := LastModified(r)
			if err != nil {
				return fmt.Errorf("bc: %s record %d of page: %w", entitySet, i+1, err)
			}
			if t.After(pageMax) {
				pageMax = t
			}
		}
		if err := fn(page); err != nil {
			return err
		}
		cursor = pageMax
		return nil
	})
	return cursor, err
}

func containsFold(ss []string, s string) bool {
	for _, x := range ss {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// LastModified reads lastModifiedDateTime from a record.
func LastModified(r json.RawMessage) (time.Time, error) {
	var v struct {
		LastModified *string `json:"lastModifiedDateTime"`
	}
	if err := json.Unmarshal(r, &v); err != nil {
		return time.Time{}, fmt.Errorf("decoding record: %w", err)
	}
	if v.LastModified == nil {
		return time.Time{}, errors.New("record has no lastModifiedDateTime; this entity set cannot be read incrementally")
	}
	t, err := time.Parse(time.RFC3339Nano, *v.LastModified)
	if err != nil {
		return time.Time{}, fmt.Errorf("lastModifiedDateTime %q is not an RFC 3339 time: %w", *v.LastModified, err)
	}
	return t, nil
}

// setPathRE accepts entity-set paths relative to the company:
// "customers", "salesOrders(<guid>)/salesOrderLines", "items(<guid>)/picture".
var setPathRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*(\([0-9a-fA-F-]{36}\))?(/[A-Za-z][A-Za-z0-9_.]*(\([0-9a-fA-F-]{36}\))?)*$`)

func (c *Client) companyURL(entitySet string) (string, error) {
	if !setPathRE.MatchString(entitySet) {
		return "", fmt.Errorf("bc: entity set %q is not a path like customers or salesOrders(<id>)/salesOrderLines", entitySet)
	}
	return c.root.String() + "/companies(" + c.company + ")/" + entitySet, nil
}

func (c *Client) recordURL(entitySet, id string) (string, error) {
	if !ValidGUID(id) {
		return "", fmt.Errorf("bc: %s id %q is not a GUID (BC keys are SystemIds like 7c8b5b6e-0000-4000-8000-000000000001)", entitySet, id)
	}
	return c.companyURL(entitySet + "(" + strings.ToLower(id) + ")")
}

// setName is the innermost entity set of a path, for metrics and messages:
// "salesOrders(<id>)/salesOrderLines" → "salesOrderLines".
func setName(path string) string {
	name := path
	for _, seg := range strings.Split(path, "/") {
		if i := strings.IndexByte(seg, '('); i >= 0 {
			seg = seg[:i]
		}
		if seg != "" && !strings.Contains(seg, ".") {
			name = seg
		}
	}
	return name
}
