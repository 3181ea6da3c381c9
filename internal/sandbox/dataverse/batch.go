package dataverse

import (
	"bytes"
	"net/http"
	"net/url"
	"strings"

	"github.com/coupler/coupler/internal/odata"
	"github.com/google/uuid"
)

// maxBatchRequests is the Web API's limit of operations per $batch.
const maxBatchRequests = 1000

// serveBatch runs a multipart/mixed $batch: operations in order, change sets atomically,
// stopping at the first failure unless Prefer: odata.continue-on-error.
func (s *Server) serveBatch(w http.ResponseWriter, r *http.Request, c caller, body []byte) {
	reqs, err := odata.ReadBatchRequest(bytes.NewReader(body), r.Header.Get("Content-Type"))
	if err != nil {
		writeAPIError(w, badRequest(codeODataGeneric, "The $batch request body could not be read: %v. Send multipart/mixed with a boundary, one application/http part per operation.", err))
		return
	}
	if len(reqs) > maxBatchRequests {
		writeAPIError(w, badRequest(codeODataGeneric, "The current change set contains too many operations. A maximum number of '%d' operations are allowed in a change set.", maxBatchRequests))
		return
	}
	continueOnError := odata.ParsePrefer(r.Header).ContinueOnError
	var out []odata.BatchResponse
	scope := &batchScope{contentIDs: map[string]string{}, plans: map[string]*plan{}}
	failed := false
	for i := 0; i < len(reqs) && !(failed && !continueOnError); {
		if reqs[i].ChangeSet == "" {
			res := s.batchOp(r, c, reqs[i], nil, scope)
			out = append(out, odata.BatchResponse{Status: res.status, Header: res.header, Body: res.body})
			failed = failed || res.status >= 400
			i++
			continue
		}
		j := i
		for j < len(reqs) && reqs[j].ChangeSet == reqs[i].ChangeSet {
			j++
		}
		resps, ok := s.runChangeSet(r, c, reqs[i:j], scope)
		out = append(out, resps...)
		failed = failed || !ok
		i = j
	}
	boundary := "batchresponse_" + uuid.NewString()
	var buf bytes.Buffer
	if err := odata.WriteBatchResponse(&buf, boundary, out); err != nil {
		writeAPIError(w, errf(http.StatusInternalServerError, codeUnexpected, "writing the $batch response: %v", err))
		return
	}
	w.Header().Set("Content-Type", "multipart/mixed; boundary="+boundary)
	w.Header().Set("OData-Version", "4.0")
	if continueOnError {
		w.Header().Set("Preference-Applied", "odata.continue-on-error")
	}
	status := http.StatusOK
	if failed && !continueOnError {
		status = http.StatusBadRequest
	}
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// runChangeSet runs the operations of one change set under the write lock; on the first
// failure everything is rolled back and only that failure is answered.
func (s *Server) runChangeSet(r *http.Request, c caller, reqs []odata.BatchRequest, scope *batchScope) ([]odata.BatchResponse, bool) {
	csb := "changesetresponse_" + uuid.NewString()
	s.db.mu.Lock()
	defer s.db.mu.Unlock()
	x := s.db.begin()
	var out []odata.BatchResponse
	for _, br := range reqs {
		var res *result
		if br.Method == http.MethodGet {
			res = errorResult(badRequest(codeODataGeneric, "A GET request cannot be part of a change set; put it outside the change set."))
		} else {
			res = s.batchOp(r, c, br, x, scope)
		}
		if res.status >= 400 {
			x.rollback()
			for _, id := range contentIDsOf(reqs) {
				delete(scope.contentIDs, id)
			}
			return []odata.BatchResponse{{ContentID: br.ContentID, Status: res.status, Header: res.header, Body: res.body}}, false
		}
		out = append(out, odata.BatchResponse{ChangeSet: csb, ContentID: br.ContentID, Status: res.status, Header: res.header, Body: res.body})
	}
	x.commit()
	return out, true
}

func contentIDsOf(reqs []odata.BatchRequest) []string {
	var ids []string
	for _, r := range reqs {
		if r.ContentID != "" {
			ids = append(ids, r.ContentID)
		}
	}
	return ids
}

// batchScope is what the operations of one $batch share: the Content-IDs
// written so far, and the plans of the representations they ask for (a
// batch of 1,000 creates asks 1,000 times for the same $select).
type batchScope struct {
	contentIDs map[string]string
	plans      map[string]*plan
}

// batchOp runs one part. x is the change set's transaction (write lock held) or nil.
func (s *Server) batchOp(r *http.Request, c caller, br odata.BatchRequest, x *tx, scope *batchScope) *result {
	contentIDs := scope.contentIDs
	path, query, aerr := s.batchTarget(br.URL, contentIDs)
	if aerr != nil {
		return errorResult(aerr)
	}
	h := br.Header
	if h == nil {
		h = http.Header{}
	}
	op := &opRequest{ctx: r.Context(), method: br.Method, path: path, query: query, header: h, body: br.Body,
		caller: c, tx: x, contentIDs: contentIDs, plans: scope.plans}
	res := s.do(op)
	if br.ContentID != "" && res.status < 300 {
		if loc := res.header.Get("OData-EntityId"); loc != "" {
			contentIDs[br.ContentID] = loc
		} else if loc := res.header.Get("Location"); loc != "" {
			contentIDs[br.ContentID] = loc
		}
	}
	return res
}

// batchTarget turns a part's URL (absolute, /api/data/v9.x/…, relative, or $n/…) into the
// path below the version segment and the raw query.
func (s *Server) batchTarget(raw string, contentIDs map[string]string) (string, string, *apiError) {
	if strings.HasPrefix(raw, "$") {
		ref, rest, _ := strings.Cut(raw[1:], "/")
		loc, ok := contentIDs[ref]
		if !ok {
			return "", "", badRequest(codeODataGeneric, "Content-ID reference '$%s' does not match an earlier operation of this change set.", ref)
		}
		raw = loc
		if rest != "" {
			raw += "/" + rest
		}
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", "", badRequest(codeODataGeneric, "The URL '%s' of a $batch operation is not valid: %v.", raw, err)
	}
	p := u.EscapedPath()
	if i := strings.Index(p, "/api/data/"); i >= 0 {
		rest := p[i+len("/api/data/"):]
		ver, after, _ := strings.Cut(rest, "/")
		if !validVersion(ver) {
			return "", "", noSegment(ver)
		}
		p = after
	}
	return strings.TrimPrefix(p, "/"), u.RawQuery, nil
}
