package dataverse

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/coupler/coupler/internal/odata"
)

// Query is a collection read. Dataverse does not support $skip: paging is by
// Prefer: odata.maxpagesize and @odata.nextLink only.
type Query struct {
	Select  []string
	Filter  string
	OrderBy string
	Expand  string
	Top     int  // 0 = absent; a $top read is not paged: do not combine with a smaller PageSize
	Count   bool // ask for @odata.count (capped at 5,000 by the service)
	// PageSize is sent as Prefer: odata.maxpagesize (0 = the service's 5,000).
	PageSize int
	// Annotations is sent as Prefer: odata.include-annotations ("*" or a list).
	Annotations string
}

func (q Query) values() url.Values {
	v := url.Values{}
	if len(q.Select) > 0 {
		v.Set("$select", strings.Join(q.Select, ","))
	}
	if q.Filter != "" {
		v.Set("$filter", q.Filter)
	}
	if q.OrderBy != "" {
		v.Set("$orderby", q.OrderBy)
	}
	if q.Expand != "" {
		v.Set("$expand", q.Expand)
	}
	if q.Top > 0 {
		v.Set("$top", strconv.Itoa(q.Top))
	}
	if q.Count {
		v.Set("$count", "true")
	}
	return v
}

func (q Query) prefer(trackChanges bool) http.Header {
	var p []string
	if q.PageSize > 0 {
		p = append(p, "odata.maxpagesize="+strconv.Itoa(q.PageSize))
	}
	if q.Annotations != "" {
		p = append(p, `odata.include-annotations="`+q.Annotations+`"`)
	}
	if trackChanges {
		p = append(p, "odata.track-changes")
	}
	if len(p) == 0 {
		return nil
	}
	return http.Header{"Prefer": {strings.Join(p, ",")}}
}

// Deleted is a $deletedEntity row of a delta read.
type Deleted struct {
	ID     string `json:"id"`
	Reason string `json:"reason"`
}

// Page is one answer of a collection read.
type Page struct {
	Records   []Record
	Deleted   []Deleted // delta reads only
	Count     int       // @odata.count, -1 when absent
	NextLink  string
	DeltaLink string
}

func decodePage(d *odata.Decoder, b []byte) (Page, error) {
	raw, err := d.Page(b)
	if err != nil {
		return Page{}, fmt.Errorf("dataverse: the collection answer is not OData JSON: %w", err)
	}
	p := Page{Count: raw.Count, NextLink: raw.NextLink, DeltaLink: raw.DeltaLink, Records: make([]Record, 0, len(raw.Value))}
	for i, v := range raw.Value {
		if strings.Contains(v.Raw, "$deletedEntity") {
			var del struct {
				Context string `json:"@odata.context"`
				Deleted
			}
			if err := json.Unmarshal([]byte(v.Raw), &del); err == nil && strings.HasSuffix(del.Context, "$deletedEntity") {
				p.Deleted = append(p.Deleted, del.Deleted)
				continue
			}
		}
		r, err := d.Element(v)
		if err != nil {
			return Page{}, fmt.Errorf("dataverse: row %d: %w", i, err)
		}
		p.Records = append(p.Records, r)
	}
	return p, nil
}

// ErrStop ends a page callback early without error.
var ErrStop = errors.New("dataverse: stop")

// List reads every page of a query, calling fn once per page, following
// @odata.nextLink unedited with the same Prefer header.
func (c *Client) List(ctx context.Context, set string, q Query, fn func(Page) error) error {
	_, err := c.pages(ctx, Request{Method: http.MethodGet, Path: set, Query: q.values(), Header: q.prefer(false)}, fn)
	return err
}

func (c *Client) pages(ctx context.Context, r Request, fn func(Page) error) (deltaLink string, err error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // a page asked for ahead and not wanted
	type answer struct {
		resp *Response
		err  error
	}
	get := func(r Request) <-chan answer {
		ch := make(chan answer, 1)
		go func() {
			resp, err := c.Do(ctx, r)
			ch <- answer{resp, err}
		}()
		return ch
	}
	d := odata.NewDecoder() // the pages share their keys
	pending, ahead := get(r), ""
	for n := 0; ; n++ {
		a := <-pending
		if a.err != nil {
			return "", a.err
		}
		// The next page is asked for before this one is decoded and
		// handed over: the service prepares it meanwhile (reading a CRM
		// table of 100,000 rows took the two one after the other).
		pending, ahead = nil, odata.NextLink(a.resp.Body)
		if ahead != "" && c.nextErr(ahead, r) == nil {
			pending = get(Request{Method: http.MethodGet, Path: ahead, Header: r.Header})
		}
		p, err := decodePage(d, a.resp.Body)
		if err != nil {
			return "", fmt.Errorf("%w (page %d of %s)", err, n+1, r.Path)
		}
		if err := fn(p); err != nil {
			if errors.Is(err, ErrStop) {
				return "", nil
			}
			return "", err
		}
		if p.NextLink == "" {
			return p.DeltaLink, nil
		}
		if err := c.nextErr(p.NextLink, r); err != nil {
			return "", err
		}
		r = Request{Method: http.MethodGet, Path: p.NextLink, Header: r.Header}
		if pending == nil || ahead != p.NextLink {
			pending = get(r)
		}
	}
}

// nextErr refuses a next link that leaves the organisation (the token
// would go with it) or names the request it answers.
func (c *Client) nextErr(link string, r Request) error {
	if !c.sameOrigin(link) {
		return fmt.Errorf("dataverse: @odata.nextLink %q leaves %s; refusing to send the token elsewhere", link, c.org)
	}
	if link == r.Path && len(r.Query) == 0 {
		return fmt.Errorf("dataverse: %s returned itself as @odata.nextLink; stopping to avoid a loop", link)
	}
	return nil
}

// All iterates over every record of a query, page by page.
func (c *Client) All(ctx context.Context, set string, q Query) iter.Seq2[Record, error] {
	return func(yield func(Record, error) bool) {
		stopped := false
		err := c.List(ctx, set, q, func(p Page) error {
			for _, r := range p.Records {
				if !yield(r, nil) {
					stopped = true
					return ErrStop
				}
			}
			return nil
		})
		if err != nil && !stopped {
			yield(nil, err)
		}
	}
}

// Changes reads a change-tracked table. With deltaLink "" it reads every row
// and starts tracking (Prefer: odata.track-changes); with the link a previous
// call returned it reads only rows changed or deleted since. Only Select,
// PageSize and Annotations of q apply (the service rejects the others on
// delta reads). It returns the link for the next call.
func (c *Client) Changes(ctx context.Context, set string, q Query, deltaLink string, fn func(Page) error) (string, error) {
	hdr := Query{PageSize: q.PageSize, Annotations: q.Annotations}.prefer(true)
	r := Request{Method: http.MethodGet, Path: deltaLink, Header: hdr}
	if deltaLink != "" && !c.sameOrigin(deltaLink) {
		return "", fmt.Errorf("dataverse: delta link %q is not on %s; it belongs to another organisation", deltaLink, c.org)
	}
	if deltaLink == "" {
		r.Path = set
		r.Query = Query{Select: q.Select}.values()
	}
	next, err := c.pages(ctx, r, fn)
	if err != nil {
		return "", err
	}
	if next == "" {
		return "", fmt.Errorf("dataverse: %s answered without @odata.deltaLink; is change tracking enabled on the table?", set)
	}
	return next, nil
}

// Count returns the number of rows matching filter ("" = all), using
// $count=true on a one-column read (the service caps it at 5,000).
func (c *Client) Count(ctx context.Context, set, primaryKey, filter string) (int, error) {
	q := Query{Select: []string{primaryKey}, Filter: filter, Count: true, PageSize: 1}
	resp, err := c.Do(ctx, Request{Method: http.MethodGet, Path: set, Query: q.values(), Header: q.prefer(false)})
	if err != nil {
		return 0, err
	}
	p, err := decodePage(odata.NewDecoder(), resp.Body)
	if err != nil {
		return 0, err
	}
	if p.Count < 0 {
		return 0, fmt.Errorf("dataverse: %s answered without @odata.count", set)
	}
	return p.Count, nil
}

// sameOrigin reports whether an absolute link the service returned points at
// this organisation (scheme and host), so the bearer token never leaks.
func (c *Client) sameOrigin(link string) bool {
	u, err := url.Parse(link)
	if err != nil {
		return false
	}
	if !u.IsAbs() {
		return true
	}
	return strings.EqualFold(u.Scheme, c.base.Scheme) && strings.EqualFold(u.Host, c.base.Host)
}
