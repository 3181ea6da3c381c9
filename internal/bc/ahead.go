package bc

import (
	"bytes"
	"context"
	"fmt"
	"net/http"

	"github.com/coupler/coupler/internal/odata"
)

// walkFields is walk for ListFields. Each answer is read whole, and the
// next page, its link found without decoding, is asked for before this
// one is decoded and handed over: the service prepares it meanwhile. A
// walk that read, decoded and handed over each page before asking for the
// next kept one side idle at a time (matching's pass over 100,000
// customers used 1.2 of 2 cores). A page asked for ahead that is not
// wanted (fn stopped, or the decoded link differs) is dropped.
func (c *Client) walkFields(ctx context.Context, set, u string, h http.Header, fn func(Page) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type answer struct {
		body *bytes.Buffer
		err  error
	}
	// Two answers' buffers serve the walk: one decoded, one filled ahead.
	// Decoded records own their memory, so a buffer is free once decoded.
	free := make(chan *bytes.Buffer, 2)
	get := func(u string) <-chan answer {
		var buf *bytes.Buffer
		select {
		case buf = <-free:
		default:
			buf = new(bytes.Buffer)
		}
		ch := make(chan answer, 1)
		go func() {
			_, err := c.do(ctx, request{method: http.MethodGet, url: u, set: set, header: h, idempotent: true,
				accept: func(resp *http.Response) error {
					buf.Reset() // a retried request reads afresh
					if _, err := buf.ReadFrom(resp.Body); err != nil {
						return fmt.Errorf("bc: listing %s: reading page: %w", set, err)
					}
					return nil
				}})
			ch <- answer{buf, err}
		}()
		return ch
	}
	seen := map[string]bool{u: true}
	pending, ahead := get(u), ""
	for {
		a := <-pending
		if a.err != nil {
			return a.err
		}
		pending, ahead = nil, odata.NextLink(a.body.Bytes())
		if ahead != "" && !seen[ahead] && c.checkSameOrigin(ahead) == nil {
			pending = get(ahead)
		}
		page, err := decodeFieldsBytes(a.body.Bytes())
		select {
		case free <- a.body:
		default:
		}
		if err != nil {
			return fmt.Errorf("bc: listing %s: %w", set, err)
		}
		if err := fn(page); err != nil {
			return err
		}
		next := page.NextLink
		if next == "" {
			return nil
		}
		if err := c.checkSameOrigin(next); err != nil {
			return fmt.Errorf("bc: listing %s: %w", set, err)
		}
		if seen[next] {
			return fmt.Errorf("bc: listing %s: the server returned the same @odata.nextLink twice (%s); stopping to avoid a loop", set, pathOnly(next))
		}
		seen[next] = true
		if pending == nil || ahead != next {
			pending = get(next)
		}
	}
}
