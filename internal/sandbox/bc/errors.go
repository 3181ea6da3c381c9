package bc

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"

	"github.com/google/uuid"
)

// apiError is an error in Business Central's shape; the HTTP layer adds the CorrelationId.
type apiError struct {
	status  int
	code    string
	message string
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %s: %s", e.status, e.code, e.message) }

func errf(status int, code, format string, args ...any) *apiError {
	return &apiError{status: status, code: code, message: fmt.Sprintf(format, args...)}
}

// Error codes of BC's web services (webservices/dynamics-error-codes.md).
const (
	codeBadRequest         = "BadRequest"
	codeNotFound           = "BadRequest_NotFound"
	codeResourceNotFound   = "BadRequest_ResourceNotFound"
	codeMethodNotAllowed   = "BadRequest_MethodNotAllowed"
	codeInvalidToken       = "BadRequest_InvalidToken"
	codeInvalidOperation   = "BadRequest_InvalidOperation"
	codeDialog             = "Application_DialogException"
	codeStringTooLong      = "Application_StringExceededLength"
	codeEntityChanged      = "Request_EntityChanged"
	codeRecordNotFound     = "Internal_RecordNotFound"
	codeSameKeyExists      = "Internal_EntityWithSameKeyExists"
	codeInvalidCredentials = "Authentication_InvalidCredentials"
	codeTooManyRequests    = "Application_TooManyRequests"
	codeServerError        = "Internal_ServerError"
)

func dialog(format string, args ...any) *apiError {
	return errf(http.StatusBadRequest, codeDialog, format, args...)
}

// errorBody renders {"error":{"code","message"}} with BC's CorrelationId suffix.
func errorBody(e *apiError) []byte {
	msg := e.message + "  CorrelationId:  " + uuid.NewString() + "."
	b, _ := json.Marshal(map[string]map[string]string{"error": {"code": e.code, "message": msg}})
	return b
}

func writeAPIError(w http.ResponseWriter, e *apiError) {
	body := errorBody(e)
	h := w.Header()
	h.Set("Content-Type", "application/json; odata.metadata=minimal; odata.streaming=true")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(e.status)
	_, _ = w.Write(body)
}
