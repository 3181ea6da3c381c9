package web

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// APIError is the one JSON shape of every error the REST API answers.
type APIError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

// Kinds of input errors, checked with errors.Is.
var (
	errNotFound = errors.New("not found")
	errBadInput = errors.New("bad input")
	errConflict = errors.New("conflict")
	// errForbidden: the user may not do this (not a role matter).
	errForbidden = errors.New("forbidden")
)

// inputError names the field a message is about.
type inputError struct {
	field, msg string
	kind       error
}

func (e *inputError) Error() string { return e.msg }
func (e *inputError) Unwrap() error { return e.kind }

func badInput(field, format string, a ...any) error {
	return &inputError{field: field, msg: fmt.Sprintf(format, a...), kind: errBadInput}
}

func notFound(field, format string, a ...any) error {
	return &inputError{field: field, msg: fmt.Sprintf(format, a...), kind: errNotFound}
}

func conflict(field, format string, a ...any) error {
	return &inputError{field: field, msg: fmt.Sprintf(format, a...), kind: errConflict}
}

// errorCode is the code of a status: "not_found", "unauthorized", …
func errorCode(status int) string {
	return strings.ReplaceAll(strings.ToLower(http.StatusText(status)), " ", "_")
}

// fieldOf says which field an error is about, when it says.
func fieldOf(err error) string {
	var ie *inputError
	if errors.As(err, &ie) {
		return ie.field
	}
	return ""
}
