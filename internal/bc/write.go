package bc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
)

// maxRecordBody bounds a single-record answer.
const maxRecordBody = 64 << 20

// Get reads one record by id; q may carry $select and $expand.
func (c *Client) Get(ctx context.Context, entitySet, id string, q Query) (json.RawMessage, error) {
	u, err := c.recordURL(entitySet, id)
	if err != nil {
		return nil, err
	}
	if enc := (Query{Select: q.Select, Expand: q.Expand}).Encode(); enc != "" {
		u += "?" + enc
	}
	var out json.RawMessage
	_, err = c.do(ctx, request{method: http.MethodGet, url: u, set: setName(entitySet), idempotent: true, accept: readInto(&out)})
	return out, err
}

// Create POSTs a record (deep insert allowed, e.g. a sales order with
// salesOrderLines) and returns the 201 body, whose @odata.etag and id the
// caller keeps. Only throttling answers are retried: a POST that may have run
// is never sent twice.
func (c *Client) Create(ctx context.Context, entitySet string, body any) (json.RawMessage, error) {
	u, err := c.companyURL(entitySet)
	if err != nil {
		return nil, err
	}
	raw, err := marshalBody(entitySet, body)
	if err != nil {
		return nil, err
	}
	var out json.RawMessage
	_, err = c.do(ctx, request{method: http.MethodPost, url: u, set: setName(entitySet), body: raw, accept: readInto(&out)})
	return out, err
}

// Update PATCHes a record guarded by etag (BC requires If-Match; "*"
// overwrites whatever is there). A stale etag gives ErrEntityChanged; see
// UpdateFunc for the refetch-and-reapply policy.
func (c *Client) Update(ctx context.Context, entitySet, id, etag string, patch any) (json.RawMessage, error) {
	if etag == "" {
		return nil, fmt.Errorf("bc: updating %s(%s): no ETag; pass the record's @odata.etag (or \"*\" to overwrite unconditionally)", entitySet, id)
	}
	u, err := c.recordURL(entitySet, id)
	if err != nil {
		return nil, err
	}
	raw, err := marshalBody(entitySet, patch)
	if err != nil {
		return nil, err
	}
	var out json.RawMessage
	_, err = c.do(ctx, request{method: http.MethodPatch, url: u, set: setName(entitySet), body: raw,
		header: http.Header{"If-Match": {etag}}, idempotent: true, accept: readInto(&out)})
	return out, err
}

// UpdateFunc reads the record, asks fn for the patch to apply to that
// version, and PATCHes it with the version's ETag. When someone else changed
// the record in between (409 Request_EntityChanged) it reads it again and
// asks fn again, up to Config.UpdateAttempts times, so a change is never
// written over a version fn has not seen. fn returning a nil patch means
// "nothing to change" and the current record is returned.
func (c *Client) UpdateFunc(ctx context.Context, entitySet, id string, fn func(current json.RawMessage) (patch any, err error)) (json.RawMessage, error) {
	var lastErr error
	for range c.cfg.UpdateAttempts {
		cur, err := c.Get(ctx, entitySet, id, Query{})
		if err != nil {
			return nil, err
		}
		etag := ETag(cur)
		if etag == "" {
			return nil, fmt.Errorf("bc: %s(%s) came back without @odata.etag; cannot update it safely", entitySet, id)
		}
		patch, err := fn(cur)
		if err != nil {
			return nil, err
		}
		if patch == nil {
			return cur, nil
		}
		out, err := c.Update(ctx, entitySet, id, etag, patch)
		if err == nil {
			return out, nil
		}
		if !errors.Is(err, ErrEntityChanged) {
			return nil, err
		}
		lastErr = err
	}
	return nil, fmt.Errorf("bc: %s(%s) kept changing under %d update attempts: %w", entitySet, id, c.cfg.UpdateAttempts, lastErr)
}

// Delete removes a record. etag is the version that must still be current;
// "" sends If-Match: * (BC wants an If-Match on DELETE as on PATCH).
func (c *Client) Delete(ctx context.Context, entitySet, id, etag string) error {
	u, err := c.recordURL(entitySet, id)
	if err != nil {
		return err
	}
	if etag == "" {
		etag = "*"
	}
	h := http.Header{"If-Match": {etag}}
	_, err = c.do(ctx, request{method: http.MethodDelete, url: u, set: setName(entitySet), header: h, idempotent: true})
	return err
}

var actionRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9]*$`)

// Action invokes a bound action, POST …/{set}({id})/Microsoft.NAV.{action}
// (shipAndInvoice on salesOrders; makeOrder, makeInvoice, send on
// salesQuotes; post on salesInvoices). BC answers 204 without a body.
func (c *Client) Action(ctx context.Context, entitySet, id, action string) error {
	if !actionRE.MatchString(action) {
		return fmt.Errorf("bc: action %q is not a name like shipAndInvoice (without the Microsoft.NAV. prefix)", action)
	}
	u, err := c.recordURL(entitySet, id)
	if err != nil {
		return err
	}
	_, err = c.do(ctx, request{method: http.MethodPost, url: u + "/Microsoft.NAV." + action, set: setName(entitySet)})
	return err
}

// ETag returns a record's @odata.etag ("" when absent or not JSON).
func ETag(r json.RawMessage) string {
	var v struct {
		ETag string `json:"@odata.etag"`
	}
	_ = json.Unmarshal(r, &v)
	return v.ETag
}

// ID returns a record's id ("" when absent or not JSON).
func ID(r json.RawMessage) string {
	var v struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(r, &v)
	return v.ID
}

func readInto(dst *json.RawMessage) func(*http.Response) error {
	return func(resp *http.Response) error {
		b, err := io.ReadAll(io.LimitReader(resp.Body, maxRecordBody))
		if err != nil {
			return fmt.Errorf("bc: reading answer: %w", err)
		}
		if len(b) > 0 && !json.Valid(b) {
			return fmt.Errorf("bc: answer of %d bytes is not JSON", len(b))
		}
		*dst = b
		return nil
	}
}

func marshalBody(set string, body any) ([]byte, error) {
	switch b := body.(type) {
	case nil:
		return nil, fmt.Errorf("bc: %s: empty body", set)
	case json.RawMessage:
		if !json.Valid(b) {
			return nil, fmt.Errorf("bc: %s: body is not valid JSON", set)
		}
		return b, nil
	case []byte:
		if !json.Valid(b) {
			return nil, fmt.Errorf("bc: %s: body is not valid JSON", set)
		}
		return b, nil
	}
	raw, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("bc: %s: encoding body: %w", set, err)
	}
	return raw, nil
}
