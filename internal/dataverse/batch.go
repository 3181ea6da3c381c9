package dataverse

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/coupler/coupler/internal/odata"
)

// MaxBatchRequests is the service's limit of requests in one $batch.
const MaxBatchRequests = 1000

// ErrRolledBack marks a request of a change set that the service undid
// because another request of the same change set failed.
var ErrRolledBack = errors.New("dataverse: rolled back (another request of its change set failed)")

// BatchRequest is one operation of a $batch.
type BatchRequest struct {
	Method string
	// Path is relative to the API root ("accounts", "accounts(id)"), or a
	// Content-ID reference ("$1") to a record created earlier in the same
	// change set.
	Path   string
	Body   any // JSON-encoded unless []byte
	Header http.Header
	// ChangeSet groups consecutive requests with the same non-empty name into
	// one atomic change set (no GET inside).
	ChangeSet string
	// ContentID names the request for "$id" references; inside a change set
	// one is assigned when empty.
	ContentID string
}

// BatchResult is the outcome of one BatchRequest, at the same index.
type BatchResult struct {
	Status   int
	Header   http.Header
	Body     []byte
	EntityID string // the id of a created or upserted record, from OData-EntityId
	// Err is nil on success, the typed API error of a failed request,
	// ErrRolledBack or ErrNotExecuted.
	Err error
}

// BatchOptions tune a $batch.
type BatchOptions struct {
	// ContinueOnError sends Prefer: odata.continue-on-error, so that one
	// failure outside a change set does not stop the requests after it.
	ContinueOnError bool
}

func randomHex() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Batch sends reqs as one multipart $batch and maps every answer back to its
// request. The error is non-nil only when the batch as a whole failed; each
// request's own failure is in its BatchResult.Err.
func (c *Client) Batch(ctx context.Context, reqs []BatchRequest, opt BatchOptions) ([]BatchResult, error) {
	if len(reqs) == 0 {
		return nil, nil
	}
	if len(reqs) > MaxBatchRequests {
		return nil, fmt.Errorf("dataverse: a $batch holds at most %d requests, got %d; split it (SplitBatch)", MaxBatchRequests, len(reqs))
	}
	parts := make([]odata.BatchRequest, len(reqs))
	csBoundary := map[string]string{}
	taken := map[string]bool{}
	for _, r := range reqs {
		if r.ContentID != "" {
			taken[r.ContentID] = true
		}
	}
	idempotent := true
	prevCS := ""
	for i, r := range reqs {
		if r.Method == "" || r.Path == "" {
			return nil, fmt.Errorf("dataverse: batch request %d: Method and Path are required", i+1)
		}
		p := odata.BatchRequest{Method: r.Method, ContentID: r.ContentID, Header: http.Header{}}
		if r.ChangeSet != "" {
			if r.Method == http.MethodGet {
				return nil, fmt.Errorf("dataverse: batch request %d: a change set cannot hold a GET", i+1)
			}
			b, ok := csBoundary[r.ChangeSet]
			if ok && prevCS != r.ChangeSet {
				return nil, fmt.Errorf("dataverse: batch request %d: change set %q is not contiguous; keep its requests together", i+1, r.ChangeSet)
			}
			if !ok {
				b = "changeset_" + randomHex()
				csBoundary[r.ChangeSet] = b
			}
			p.ChangeSet = b
			if p.ContentID == "" {
				// Unique within the batch, never one the caller chose.
				for n := i + 1; ; n += len(reqs) {
					if id := strconv.Itoa(n); !taken[id] {
						p.ContentID, taken[id] = id, true
						break
					}
				}
			}
		}
		prevCS = r.ChangeSet
		if strings.HasPrefix(r.Path, "$") {
			p.URL = r.Path
		} else {
			p.URL = c.resolve(r.Path)
		}
		for k, vs := range r.Header {
			p.Header[k] = vs
		}
		if r.Body != nil {
			b, err := marshal(r.Body)
			if err != nil {
				return nil, fmt.Errorf("dataverse: batch request %d: %w", i+1, err)
			}
			p.Body = b
			p.Header.Set("Content-Type", "application/json; type=entry")
			// Without Content-Length the service answers 0x80048d19 "stream not readable".
			p.Header.Set("Content-Length", strconv.Itoa(len(b)))
		}
		if r.Method == http.MethodPost {
			idempotent = false
		}
		parts[i] = p
	}
	boundary := "batch_" + randomHex()
	body, err := batchBody(boundary, parts)
	if err != nil {
		return nil, fmt.Errorf("dataverse: writing the $batch: %w", err)
	}
	hdr := http.Header{"Content-Type": {"multipart/mixed; boundary=" + boundary}}
	if opt.ContinueOnError {
		hdr.Set("Prefer", "odata.continue-on-error")
	}
	resp, err := c.Do(ctx, Request{Method: http.MethodPost, Path: "$batch", Header: hdr, Body: body, Idempotent: idempotent})
	if err != nil {
		// Without continue-on-error the service may answer 4xx with the
		// multipart body of the request that stopped it.
		if resp == nil || !isMultipart(resp.Header) {
			return nil, err
		}
	}
	answers, rerr := odata.ParseBatchResponse(resp.Body, resp.Header.Get("Content-Type"))
	if rerr != nil {
		return nil, fmt.Errorf("dataverse: reading the $batch answer (status %d): %w", resp.Status, rerr)
	}
	return mapBatch(reqs, parts, answers, c.resolve("$batch")), nil
}

func isMultipart(h http.Header) bool {
	mt, _, err := mime.ParseMediaType(h.Get("Content-Type"))
	return err == nil && mt == "multipart/mixed"
}

// unit is a run of indices: one request outside a change set, or a change set.
type unit struct {
	changeSet string
	idx       []int
}

func reqUnits(parts []odata.BatchRequest) []unit {
	var out []unit
	for i, p := range parts {
		if p.ChangeSet != "" && len(out) > 0 && out[len(out)-1].changeSet == p.ChangeSet {
			out[len(out)-1].idx = append(out[len(out)-1].idx, i)
			continue
		}
		out = append(out, unit{changeSet: p.ChangeSet, idx: []int{i}})
	}
	return out
}

func respUnits(answers []odata.BatchResponse) []unit {
	var out []unit
	for i, a := range answers {
		if a.ChangeSet != "" && len(out) > 0 && out[len(out)-1].changeSet == a.ChangeSet {
			out[len(out)-1].idx = append(out[len(out)-1].idx, i)
			continue
		}
		out = append(out, unit{changeSet: a.ChangeSet, idx: []int{i}})
	}
	return out
}

// mapBatch pairs answers with requests: units in order; inside a change set by
// Content-ID. A change set answered by a single error was rolled back whole.
func mapBatch(reqs []BatchRequest, parts []odata.BatchRequest, answers []odata.BatchResponse, batchURL string) []BatchResult {
	out := make([]BatchResult, len(reqs))
	for i := range out {
		out[i].Err = ErrNotExecuted
	}
	set := func(i int, a odata.BatchResponse) {
		r := BatchResult{Status: a.Status, Header: a.Header, Body: a.Body}
		if a.Header != nil {
			r.EntityID, _ = EntityID(a.Header)
		}
		if a.Status >= 400 {
			r.Err = decodeAPIError(reqs[i].Method, batchURL+" #"+strconv.Itoa(i+1)+" "+reqs[i].Path, a.Status, headerOrEmpty(a.Header), a.Body)
		}
		out[i] = r
	}
	ru, au := reqUnits(parts), respUnits(answers)
	for n := 0; n < len(ru) && n < len(au); n++ {
		rq, an := ru[n], au[n]
		if len(rq.idx) == 1 && rq.changeSet == "" {
			set(rq.idx[0], answers[an.idx[0]])
			continue
		}
		byID := map[string]int{}
		for _, i := range rq.idx {
			byID[parts[i].ContentID] = i
		}
		if len(an.idx) == 1 && answers[an.idx[0]].Status >= 400 {
			a := answers[an.idx[0]]
			failed, ok := byID[a.ContentID]
			for _, i := range rq.idx {
				if ok && i == failed {
					set(i, a)
					continue
				}
				cause := decodeAPIError("", batchURL, a.Status, headerOrEmpty(a.Header), a.Body)
				var ae *APIError
				msg := cause.Error()
				if errors.As(cause, &ae) {
					msg = fmt.Sprintf("%d %s %s", ae.Status, ae.Code, ae.Message)
				}
				out[i] = BatchResult{Status: a.Status, Err: fmt.Errorf("%w; the change set failed with: %s", ErrRolledBack, msg)}
			}
			continue
		}
		for k, ai := range an.idx {
			a := answers[ai]
			if i, ok := byID[a.ContentID]; ok && a.ContentID != "" {
				set(i, a)
			} else if k < len(rq.idx) {
				set(rq.idx[k], a)
			}
		}
	}
	return out
}

func headerOrEmpty(h http.Header) http.Header {
	if h == nil {
		return http.Header{}
	}
	return h
}

// SplitBatch cuts reqs into batches of at most max requests (MaxBatchRequests
// when max ≤ 0) without splitting a change set.
func SplitBatch(reqs []BatchRequest, max int) ([][]BatchRequest, error) {
	if max <= 0 || max > MaxBatchRequests {
		max = MaxBatchRequests
	}
	var out [][]BatchRequest
	start := 0
	for start < len(reqs) {
		end := start + max
		if end >= len(reqs) {
			out = append(out, reqs[start:])
			break
		}
		// Do not cut inside a change set: back up to its first request.
		cut := end
		for cut > start && reqs[cut].ChangeSet != "" && reqs[cut].ChangeSet == reqs[cut-1].ChangeSet {
			cut--
		}
		if cut == start {
			return nil, fmt.Errorf("dataverse: change set %q has more than %d requests; it cannot fit one $batch", reqs[start].ChangeSet, max)
		}
		out = append(out, reqs[start:cut])
		start = cut
	}
	return out, nil
}

// batchBody writes the multipart body in a buffer sized up front: grown by
// doubling, the body of 1,000 creates allocated about twice its size.
func batchBody(boundary string, parts []odata.BatchRequest) ([]byte, error) {
	var body bytes.Buffer
	body.Grow(batchSize(boundary, parts))
	if err := odata.WriteBatchRequest(&body, boundary, parts); err != nil {
		return nil, err
	}
	return body.Bytes(), nil
}

// batchSize is at least what WriteBatchRequest writes for parts, headers
// and boundaries counted (a fixed allowance per part fell short of the
// service's long boundaries and the buffer was grown again).
func batchSize(boundary string, parts []odata.BatchRequest) int {
	size := len(boundary) + 8
	prev := ""
	for _, p := range parts {
		if p.ChangeSet != "" && p.ChangeSet != prev {
			size += 3*len(p.ChangeSet) + 64 // its opening part and closing line
		}
		prev = p.ChangeSet
		// Boundary lines (a change set's too), the part's MIME headers,
		// the request line, the blank lines.
		size += 2*(len(boundary)+8) + 96 + len(p.ContentID) + len(p.Method) + len(p.URL) + 16 + len(p.Body)
		for k, vs := range p.Header {
			for _, v := range vs {
				size += len(k) + len(v) + 4
			}
		}
	}
	return size
}
