package odata

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// JSONBatchRequest is the body of an OData JSON $batch request (OData JSON Format v4.01 §19),
// the format Business Central's API v2.0 accepts on POST …/api/v2.0/$batch.
type JSONBatchRequest struct {
	Requests []JSONBatchItem `json:"requests"`
}

// JSONBatchItem is one operation of a JSON batch. URL is relative to the service root
// (or absolute); Body is the raw JSON payload, absent for GET and DELETE.
type JSONBatchItem struct {
	ID             string            `json:"id"`
	Method         string            `json:"method"`
	URL            string            `json:"url"`
	Headers        map[string]string `json:"headers,omitempty"`
	Body           json.RawMessage   `json:"body,omitempty"`
	AtomicityGroup string            `json:"atomicityGroup,omitempty"`
	DependsOn      []string          `json:"dependsOn,omitempty"`
}

// JSONBatchResponse is the body of the answer to a JSON batch: one result per operation,
// in request order.
type JSONBatchResponse struct {
	Responses []JSONBatchResult `json:"responses"`
}

// JSONBatchResult is the outcome of one operation; Body holds its JSON answer (a record
// or an error object), absent for 204.
type JSONBatchResult struct {
	ID      string            `json:"id"`
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    json.RawMessage   `json:"body,omitempty"`
}

// MaxJSONBatchOperations is Business Central's limit of operations in one $batch.
const MaxJSONBatchOperations = 100

// BatchFormatError says what is wrong with a batch body, naming the operation.
type BatchFormatError struct {
	Index   int // position of the operation, -1 for the whole batch
	ID      string
	Message string
}

func (e *BatchFormatError) Error() string {
	if e.Index < 0 {
		return "invalid $batch: " + e.Message
	}
	return fmt.Sprintf("invalid $batch operation %d (id %q): %s", e.Index, e.ID, e.Message)
}

// ReadJSONBatchRequest decodes and validates a JSON batch body: at most max operations
// (0 = MaxJSONBatchOperations), unique non-empty ids, a method and a URL each, and
// dependsOn naming earlier operations only. Errors are *BatchFormatError.
func ReadJSONBatchRequest(r io.Reader, max int) (JSONBatchRequest, error) {
	if max <= 0 {
		max = MaxJSONBatchOperations
	}
	var b JSONBatchRequest
	dec := json.NewDecoder(r)
	if err := dec.Decode(&b); err != nil {
		return b, &BatchFormatError{Index: -1, Message: "body is not a JSON batch object: " + err.Error()}
	}
	if b.Requests == nil {
		return b, &BatchFormatError{Index: -1, Message: `the body has no "requests" array`}
	}
	if len(b.Requests) > max {
		return b, &BatchFormatError{Index: -1, Message: fmt.Sprintf("%d operations exceed the limit of %d per batch; split the batch", len(b.Requests), max)}
	}
	seen := make(map[string]bool, len(b.Requests))
	for i, it := range b.Requests {
		switch {
		case it.ID == "":
			return b, &BatchFormatError{Index: i, Message: `"id" is missing`}
		case seen[it.ID]:
			return b, &BatchFormatError{Index: i, ID: it.ID, Message: "duplicate id; every operation needs its own id"}
		case strings.TrimSpace(it.Method) == "":
			return b, &BatchFormatError{Index: i, ID: it.ID, Message: `"method" is missing`}
		case strings.TrimSpace(it.URL) == "":
			return b, &BatchFormatError{Index: i, ID: it.ID, Message: `"url" is missing`}
		}
		for _, d := range it.DependsOn {
			if !seen[d] {
				return b, &BatchFormatError{Index: i, ID: it.ID, Message: fmt.Sprintf("dependsOn %q does not name an earlier operation", d)}
			}
		}
		seen[it.ID] = true
	}
	return b, nil
}

// Header returns the value of an operation header, matching the name case-insensitively
// as HTTP does.
func (it JSONBatchItem) Header(name string) string {
	for k, v := range it.Headers {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}
