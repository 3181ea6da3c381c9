package bc

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/coupler/coupler/internal/odata"
)

// recorder captures one inner response of a $batch.
type recorder struct {
	h      http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.h }
func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
}
func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.body.Write(b)
}

func (r *recorder) result(id string) odata.JSONBatchResult {
	res := odata.JSONBatchResult{ID: id, Status: r.status, Headers: map[string]string{}}
	for k, v := range r.h {
		if len(v) > 0 && k != "Content-Length" {
			res.Headers[strings.ToLower(k)] = v[0]
		}
	}
	if r.body.Len() > 0 {
		if json.Valid(r.body.Bytes()) {
			res.Body = json.RawMessage(bytes.Clone(r.body.Bytes()))
		} else {
			b, _ := json.Marshal(r.body.String())
			res.Body = b
		}
	}
	return res
}

func errorResult(id string, e *apiError) odata.JSONBatchResult {
	return odata.JSONBatchResult{ID: id, Status: e.status, Headers: map[string]string{"content-type": "application/json"}, Body: errorBody(e)}
}

// batch runs a JSON $batch. With "Isolation: snapshot" it is one transaction: if an
// operation fails every change is undone; the failing operation keeps its error and the
// others answer 424 Failed Dependency saying they were rolled back.
func (s *Server) batch(w http.ResponseWriter, r *http.Request, root apiRoot) {
	if r.Method != http.MethodPost {
		writeAPIError(w, errf(http.StatusMethodNotAllowed, codeMethodNotAllowed, "'%s' requests for '$batch' are not allowed; use POST.", r.Method))
		return
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "application/json" {
		writeAPIError(w, errf(http.StatusBadRequest, codeBadRequest, "The sandbox accepts the JSON $batch format only: send Content-Type: application/json (got %q).", r.Header.Get("Content-Type")))
		return
	}
	req, err := odata.ReadJSONBatchRequest(io.LimitReader(r.Body, maxBody), odata.MaxJSONBatchOperations)
	if err != nil {
		var fe *odata.BatchFormatError
		if errors.As(err, &fe) {
			writeAPIError(w, errf(http.StatusBadRequest, codeBadRequest, "%s", fe.Error()))
			return
		}
		writeAPIError(w, errf(http.StatusBadRequest, codeBadRequest, "Invalid $batch body: %v", err))
		return
	}
	atomic := strings.EqualFold(strings.TrimSpace(r.Header.Get("Isolation")), "snapshot")
	var tx *txn
	c := s.company
	if atomic {
		c.mu.Lock()
		defer c.mu.Unlock()
		tx = &txn{u: &undo{}}
	}
	results := make([]odata.JSONBatchResult, len(req.Requests))
	failed := map[string]bool{}
	failedAt := -1
	for i, op := range req.Requests {
		if failedAt >= 0 {
			results[i] = errorResult(op.ID, errf(http.StatusFailedDependency, codeBadRequest, "Not run: operation %q of this transactional batch failed.", req.Requests[failedAt].ID))
			continue
		}
		dep := ""
		for _, d := range op.DependsOn {
			if failed[d] {
				dep = d
			}
		}
		if dep != "" {
			results[i] = errorResult(op.ID, errf(http.StatusFailedDependency, codeBadRequest, "Not run: operation %q it depends on failed.", dep))
			failed[op.ID] = true
			continue
		}
		results[i] = s.batchOp(r, root, op, tx)
		if results[i].Status >= 400 {
			failed[op.ID] = true
			if atomic {
				failedAt = i
			}
		}
	}
	if atomic && failedAt >= 0 {
		c.rollback(tx.u)
		for i := range results {
			if i < failedAt {
				results[i] = errorResult(results[i].ID, errf(http.StatusFailedDependency, codeBadRequest, "Rolled back: operation %q of this transactional batch failed.", req.Requests[failedAt].ID))
			}
		}
	}
	body, _ := json.Marshal(odata.JSONBatchResponse{Responses: results})
	writeJSON(w, http.StatusOK, body, "")
}

func (s *Server) batchOp(r *http.Request, root apiRoot, op odata.JSONBatchItem, tx *txn) odata.JSONBatchResult {
	raw := op.URL
	if u, err := url.Parse(raw); err == nil && u.IsAbs() {
		raw = u.RequestURI()
	}
	if strings.HasPrefix(raw, "/") {
		rest, ok := strings.CutPrefix(raw, root.path+"/")
		if !ok {
			return errorResult(op.ID, errf(http.StatusBadRequest, codeBadRequest, "Operation URL %q is outside this API root %s.", op.URL, root.path))
		}
		raw = rest
	}
	rel, _, _ := strings.Cut(raw, "?")
	inner, err := http.NewRequestWithContext(r.Context(), strings.ToUpper(op.Method), "http://"+r.Host+root.path+"/"+raw, bytes.NewReader(op.Body))
	if err != nil {
		return errorResult(op.ID, errf(http.StatusBadRequest, codeBadRequest, "Operation %q: invalid URL %q: %v", op.ID, op.URL, err))
	}
	inner.Host = r.Host
	for k, v := range op.Headers {
		inner.Header.Set(k, v)
	}
	rec := &recorder{h: http.Header{}}
	s.serveAPI(rec, inner, root, rel, tx)
	return rec.result(op.ID)
}
