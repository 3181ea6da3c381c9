// Package odata holds what coupler's Dataverse and Business Central clients
// and the sandbox's simulators of both share: the JSON error shape, system
// query options ($select, $filter, $orderby, …) with a safe $filter
// evaluator, the Prefer header, and the $batch formats.
package odata

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"
)

// Error is the JSON error shape shared by Dataverse and Business Central:
// {"error":{"code":"…","message":"…"}}.
type Error struct {
	Status  int
	Code    string
	Message string
}

func (e *Error) Error() string {
	if e.Code == "" {
		return fmt.Sprintf("HTTP %d: %s", e.Status, e.Message)
	}
	return fmt.Sprintf("HTTP %d %s: %s", e.Status, e.Code, e.Message)
}

type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// WriteError answers with status and the OData JSON error body.
func WriteError(w http.ResponseWriter, status int, code, message string) {
	var b errorBody
	b.Error.Code, b.Error.Message = code, message
	w.Header().Set("Content-Type", "application/json; odata.metadata=minimal")
	w.Header().Set("OData-Version", "4.0")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(b)
}

// maxErrorText bounds how much of a non-JSON body ends up in an error
// message (an HTML error page from a proxy can be large).
const maxErrorText = 512

// DecodeError reads an error response. It never fails: a body that is not
// the OData error shape (HTML from a proxy, plain text, empty) becomes the
// message, trimmed and shortened, or the status text when empty.
func DecodeError(status int, body []byte) *Error {
	var b errorBody
	if err := json.Unmarshal(body, &b); err == nil && (b.Error.Code != "" || b.Error.Message != "") {
		return &Error{Status: status, Code: b.Error.Code, Message: b.Error.Message}
	}
	// Some services send {"code":…,"message":…} without the wrapper.
	var flat struct{ Code, Message string }
	if err := json.Unmarshal(body, &flat); err == nil && (flat.Code != "" || flat.Message != "") {
		return &Error{Status: status, Code: flat.Code, Message: flat.Message}
	}
	text := strings.TrimSpace(strings.ToValidUTF8(string(body), "\uFFFD"))
	if text == "" {
		text = http.StatusText(status)
		if text == "" {
			text = "no error message in the response"
		}
	}
	if len(text) > maxErrorText {
		cut := maxErrorText
		for cut > 0 && !utf8.RuneStart(text[cut]) {
			cut--
		}
		text = text[:cut] + "…"
	}
	return &Error{Status: status, Message: text}
}

// QueryError reports a system query option that cannot be used: bad syntax,
// an unsupported feature, or a value of the wrong type.
type QueryError struct {
	Option  string // "$filter", "$top", …
	Message string
}

func (e *QueryError) Error() string { return e.Option + ": " + e.Message }
