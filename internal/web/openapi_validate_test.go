package web_test

import (
	"context"
	"io"
	"net/http"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/stretchr/testify/require"
)

// TestOpenAPIDocumentValidates loads /api/v1/openapi.json with a
// third-party OpenAPI 3 implementation and validates it against the
// specification, so that generated clients and API tools accept it.
func TestOpenAPIDocumentValidates(t *testing.T) {
	t.Parallel()
	raw := openAPIDocument(t, setup(t))
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(raw)
	require.NoError(t, err, "openapi.json does not load")
	require.NoError(t, doc.Validate(context.Background()), "openapi.json is not a valid OpenAPI 3 document")
	require.NotEmpty(t, doc.Paths.Map())
}

// openAPIDocument fetches the served document, unauthenticated as API
// tools fetch it.
func openAPIDocument(t *testing.T, b *testBundle) []byte {
	t.Helper()
	resp, err := http.Get(b.srv.URL + "/api/v1/openapi.json")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return raw
}
