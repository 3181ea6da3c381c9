package dataverse

import (
	"fmt"
	"net/http"
)

// Dataverse error codes (hex HRESULTs as the Web API writes them in error.code). Sources:
// Microsoft's "Web service error codes" page and "Troubleshoot Dataverse Web API client
// errors"; the ones marked unverified were not confirmed there.
const (
	codeObjectDoesNotExist = "0x80040217" // ObjectDoesNotExist: "<table> With Id = <id> Does Not Exist"
	codeResourceNotFound   = "0x8006088a" // "Resource not found for the segment 'X'."
	codeODataGeneric       = "0x0"        // OData library errors: unknown property, bad query syntax
	codeConcurrency        = "0x80060882" // ConcurrencyVersionMismatch
	codeDuplicateRecord    = "0x80040237" // DuplicateRecord
	codeValidation         = "0x80044331" // validation error (from protocols.md)
	codeStringTooLong      = "0x80044331"
	codeInvalidOption      = "0x80044331"
	codeInvalidArgument    = "0x80040203" // InvalidArgument
	codeRequestsExceeded   = "0x80072322" // service protection: number of requests
	codeExecutionTime      = "0x80072321" // service protection: execution time
	codeConcurrentExceeded = "0x80072326" // service protection: concurrent requests
	codeUnexpected         = "0x80040216" // UnExpected (server error)
	codeDeleteRestricted   = "0x80040227" // unverified: delete blocked by a Restrict relationship
)

// apiError is an error answered in Dataverse's JSON shape.
type apiError struct {
	status int
	code   string
	msg    string
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %s: %s", e.status, e.code, e.msg) }

func errf(status int, code, format string, args ...any) *apiError {
	return &apiError{status: status, code: code, msg: fmt.Sprintf(format, args...)}
}

func notFound(t *Table, id string) *apiError {
	return errf(http.StatusNotFound, codeObjectDoesNotExist, "%s With Id = %s Does Not Exist", t.Logical, id)
}

func noSegment(seg string) *apiError {
	return errf(http.StatusNotFound, codeResourceNotFound, "Resource not found for the segment '%s'.", seg)
}

func badProperty(t *Table, name string) *apiError {
	return errf(http.StatusBadRequest, codeODataGeneric,
		"Could not find a property named '%s' on type 'Microsoft.Dynamics.CRM.%s'.", name, t.Logical)
}

func badRequest(code, format string, args ...any) *apiError {
	return errf(http.StatusBadRequest, code, format, args...)
}
