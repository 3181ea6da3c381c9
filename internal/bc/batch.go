package bc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coupler/coupler/internal/odata"
)

// ErrRolledBack marks an operation of an atomic batch that succeeded but
// was undone because another operation of the same batch failed.
var ErrRolledBack = errors.New("bc: rolled back: another operation of the atomic batch failed")

// BatchOp is one operation of a JSON $batch, addressed relative to the company.
type BatchOp struct {
	Method string // GET, POST, PATCH, DELETE
	Path   string // "customers", "customers(<id>)", "salesOrders(<id>)/Microsoft.NAV.shipAndInvoice"
	ETag   string // If-Match for PATCH/DELETE ("*" to overwrite)
	Body   any    // nil for GET/DELETE/actions
}

// CreateOp is a POST of body to entitySet.
func CreateOp(entitySet string, body any) BatchOp {
	return BatchOp{Method: http.MethodPost, Path: entitySet, Body: body}
}

// UpdateOp is an ETag-guarded PATCH.
func UpdateOp(entitySet, id, etag string, patch any) BatchOp {
	return BatchOp{Method: http.MethodPatch, Path: entitySet + "(" + strings.ToLower(id) + ")", ETag: etag, Body: patch}
}

// DeleteOp is a DELETE ("" etag = "*").
func DeleteOp(entitySet, id, etag string) BatchOp {
	if etag == "" {
		etag = "*"
	}
	return BatchOp{Method: http.MethodDelete, Path: entitySet + "(" + strings.ToLower(id) + ")", ETag: etag}
}

// ActionOp invokes a bound action such as shipAndInvoice.
func ActionOp(entitySet, id, action string) BatchOp {
	return BatchOp{Method: http.MethodPost, Path: entitySet + "(" + strings.ToLower(id) + ")/Microsoft.NAV." + action}
}

// BatchResult is the outcome of one operation, at the operation's index.
type BatchResult struct {
	Status int
	Body   json.RawMessage // the record (POST/PATCH/GET), nil for 204
	ETag   string          // of the written record, when there is one
	Err    error           // *APIError (errors.Is works), ErrRolledBack, or nil
}

// BatchOptions tunes Batch.
type BatchOptions struct {
	// Atomic sends Isolation: snapshot: all operations apply or none does.
	// An atomic batch holds at most 100 operations.
	Atomic bool
}

// Batch sends ops as JSON $batch requests of at most 100 operations (up to
// MaxConcurrent of them at once) and returns one result per op, in order. A
// failed operation does not fail the call: its result carries the error
// (partial failure). The call fails only when a $batch could not be sent or
// its answer not read; the results of that batch's operations then have
// Status 0 and that error. Operations that BC throttled inside a non-atomic
// batch are resent, bounded like any retry.
func (c *Client) Batch(ctx context.Context, ops []BatchOp, opts BatchOptions) ([]BatchResult, error) {
	if len(ops) == 0 {
		return nil, nil
	}
	if opts.Atomic && len(ops) > odata.MaxJSONBatchOperations {
		return nil, fmt.Errorf("bc: atomic batch of %d operations: BC allows %d per $batch and atomicity cannot span two; split it", len(ops), odata.MaxJSONBatchOperations)
	}
	items := make([]odata.JSONBatchItem, len(ops))
	for i, op := range ops {
		it, err := c.batchItem(i, op)
		if err != nil {
			return nil, err
		}
		items[i] = it
	}
	results := make([]BatchResult, len(ops))
	// Chunks go out side by side, as many as BC runs at once per user; the
	// client's semaphore and limiter still bound the whole process.
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	slots := make(chan struct{}, c.cfg.MaxConcurrent)
	for start := 0; start < len(items); start += odata.MaxJSONBatchOperations {
		end := min(start+odata.MaxJSONBatchOperations, len(items))
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			if err := c.sendBatch(ctx, items[start:end], results[start:end], opts); err != nil {
				// The chunk got no answer: its operations say why, with
				// Status 0 (not known to have run).
				for i := start; i < end; i++ {
					if results[i].Status == 0 {
						results[i].Err = err
					}
				}
				mu.Lock()
				errs = append(errs, fmt.Errorf("bc: $batch of operations %d-%d: %w", start, end-1, err))
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return results, errors.Join(errs...)
}

func (c *Client) batchItem(i int, op BatchOp) (odata.JSONBatchItem, error) {
	m := strings.ToUpper(op.Method)
	switch m {
	case http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodDelete:
	default:
		return odata.JSONBatchItem{}, fmt.Errorf("bc: batch operation %d: method %q is not GET, POST, PATCH or DELETE", i, op.Method)
	}
	if !setPathRE.MatchString(op.Path) {
		return odata.JSONBatchItem{}, fmt.Errorf("bc: batch operation %d: path %q is not like customers or customers(<id>)", i, op.Path)
	}
	if m == http.MethodPatch && op.ETag == "" {
		return odata.JSONBatchItem{}, fmt.Errorf("bc: batch operation %d (PATCH %s): no ETag; pass the record's @odata.etag or \"*\"", i, op.Path)
	}
	it := odata.JSONBatchItem{
		ID:      strconv.Itoa(i + 1),
		Method:  m,
		URL:     "companies(" + c.company + ")/" + op.Path,
		Headers: map[string]string{},
	}
	if op.ETag != "" {
		it.Headers["If-Match"] = op.ETag
	}
	if op.Body != nil {
		raw, err := marshalBody(op.Path, op.Body)
		if err != nil {
			return it, fmt.Errorf("bc: batch operation %d: %w", i, err)
		}
		it.Body = raw
		it.Headers["Content-Type"] = "application/json"
	}
	return it, nil
}

// sendBatch sends one ≤100 chunk and fills res; throttled operations of a
// non-atomic batch are resent in a smaller batch after a wait.
func (c *Client) sendBatch(ctx context.Context, items []odata.JSONBatchItem, res []BatchResult, opts BatchOptions) error {
	pending := make([]int, len(items))
	for i := range pending {
		pending[i] = i
	}
	for round := 1; len(pending) > 0; round++ {
		req := odata.JSONBatchRequest{Requests: make([]odata.JSONBatchItem, len(pending))}
		for j, i := range pending {
			req.Requests[j] = items[i]
		}
		answers, err := c.postBatch(ctx, req, opts)
		if err != nil {
			return err
		}
		var throttled []int
		var retryAfter int
		failed := false
		for j, i := range pending {
			a := answers[j]
			r := BatchResult{Status: a.Status}
			if len(a.Body) > 0 && string(a.Body) != "null" {
				r.Body = a.Body
			}
			if a.Status >= 200 && a.Status < 300 {
				r.ETag = headerFold(a.Headers, "ETag")
				if r.ETag == "" && r.Body != nil {
					r.ETag = ETag(r.Body)
				}
			} else {
				failed = true
				r.Err = decodeError(a.Status, a.Body, items[i].Method, items[i].URL)
				if a.Status == http.StatusTooManyRequests && !opts.Atomic {
					throttled = append(throttled, i)
					if s, err := strconv.Atoi(headerFold(a.Headers, "Retry-After")); err == nil && s > retryAfter {
						retryAfter = s
					}
				}
			}
			res[i] = r
		}
		if opts.Atomic && failed {
			// Nothing of the batch was kept: operations that succeeded, or
			// that the server did not run (424 Failed Dependency), say so.
			for _, i := range pending {
				switch {
				case res[i].Err == nil:
					res[i].Err = ErrRolledBack
				case res[i].Status == http.StatusFailedDependency:
					res[i].Err = fmt.Errorf("%w: %w", ErrRolledBack, res[i].Err)
				}
			}
		}
		if len(throttled) == 0 || round > c.cfg.MaxRetries {
			return nil
		}
		wait, _ := c.retryable(request{}, http.StatusTooManyRequests, round, secondsDuration(retryAfter))
		c.pause(wait)
		c.retries.Add(1)
		if err := c.sleep(ctx, wait); err != nil {
			return fmt.Errorf("bc: $batch: waiting to resend %d throttled operations: %w", len(throttled), err)
		}
		pending = throttled
	}
	return nil
}

func (c *Client) postBatch(ctx context.Context, req odata.JSONBatchRequest, opts BatchOptions) ([]odata.JSONBatchResult, error) {
	raw, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("bc: encoding $batch: %w", err)
	}
	h := http.Header{"Content-Type": {"application/json"}}
	if opts.Atomic {
		h.Set("Isolation", "snapshot")
	}
	var resp odata.JSONBatchResponse
	c.batchOps.Add(int64(len(req.Requests)))
	_, err = c.do(ctx, request{method: http.MethodPost, url: c.root.String() + "/$batch", set: "$batch", header: h, body: raw,
		accept: func(r *http.Response) error {
			b, err := io.ReadAll(io.LimitReader(r.Body, maxRecordBody))
			if err != nil {
				return fmt.Errorf("bc: reading $batch answer: %w", err)
			}
			if err := json.Unmarshal(b, &resp); err != nil {
				return fmt.Errorf("bc: $batch answer is not a JSON batch response: %w", err)
			}
			return nil
		}})
	if err != nil {
		return nil, err
	}
	return alignAnswers(req, resp)
}

// alignAnswers orders the answers like the requests: by id when the server
// echoes ids, else by position (BC's docs show "id": null).
func alignAnswers(req odata.JSONBatchRequest, resp odata.JSONBatchResponse) ([]odata.JSONBatchResult, error) {
	n := len(req.Requests)
	if len(resp.Responses) != n {
		return nil, fmt.Errorf("bc: $batch answered %d results for %d operations", len(resp.Responses), n)
	}
	pos := make(map[string]int, n)
	for i, it := range req.Requests {
		pos[it.ID] = i
	}
	out := make([]odata.JSONBatchResult, n)
	filled := make([]bool, n)
	for k, a := range resp.Responses {
		i := k
		if a.ID != "" {
			p, ok := pos[a.ID]
			if !ok {
				return nil, fmt.Errorf("bc: $batch answer has id %q that no operation had", a.ID)
			}
			i = p
		}
		if filled[i] {
			return nil, fmt.Errorf("bc: $batch answered operation %s twice", req.Requests[i].ID)
		}
		out[i], filled[i] = a, true
	}
	return out, nil
}

func headerFold(h map[string]string, name string) string {
	for k, v := range h {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

func secondsDuration(s int) time.Duration { return time.Duration(s) * time.Second }
