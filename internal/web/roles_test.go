package web_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/coupler/coupler/internal/users"
)

// TestEveryRouteRefusesLowerRoles signs in as a viewer and as an operator
// and calls every route that needs more: each answers 403, through the
// page session (with a valid CSRF token, so the role is what refuses) and
// through an API token.
func TestEveryRouteRefusesLowerRoles(t *testing.T) {
	t.Parallel()
	b := setup(t)
	checked := 0
	for _, who := range []struct {
		email string
		role  users.Role
	}{{"viewer@example.com", users.RoleViewer}, {"operator@example.com", users.RoleOperator}} {
		c, _ := signIn(t, b, who.email, "correct horse battery")
		tok := csrfFrom(t, c, b.srv.URL+"/tokens")
		apiTok := createToken(t, b, c, tok)
		for _, r := range b.handler.Routes() {
			if r.Role == "" || who.role.Can(r.Role) {
				continue
			}
			method, path := routePath(r.Pattern)
			req, err := http.NewRequest(method, b.srv.URL+path, strings.NewReader("{}"))
			require.NoError(t, err)
			if strings.HasPrefix(path, "/api/") {
				req.Header.Set("Authorization", "Bearer "+apiTok)
			} else {
				req.Header.Set("X-CSRF-Token", tok)
			}
			resp, err := c.Do(req)
			require.NoError(t, err)
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			require.Equal(t, http.StatusForbidden, resp.StatusCode, "%s as %s: %s", r.Pattern, who.role, body)
			require.Contains(t, string(body), "needs "+string(r.Role), r.Pattern)
			checked++
		}
	}
	require.Greater(t, checked, 20)
}

func createToken(t *testing.T, b *testBundle, c *http.Client, csrf string) string {
	t.Helper()
	resp, err := c.PostForm(b.srv.URL+"/tokens", url.Values{"name": {"test"}, "csrf_token": {csrf}})
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	s := string(body)
	i := strings.Index(s, `id="new-token">`)
	require.Positive(t, i, "the new token is shown once")
	s = s[i+len(`id="new-token">`):]
	return s[:strings.Index(s, "<")]
}

func apiCall(t *testing.T, b *testBundle, tok, method, path, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), method, b.srv.URL+path, strings.NewReader(body))
	require.NoError(t, err)
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, "application/json", resp.Header.Get("Content-Type"), path)
	var out map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
	return resp.StatusCode, out
}

func TestAPITokensAndErrorShape(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c, _ := signIn(t, b, "admin@example.com", "correct horse battery")
	tok := createToken(t, b, c, csrfFrom(t, c, b.srv.URL+"/tokens"))
	require.True(t, strings.HasPrefix(tok, "cpl_"))

	// The store keeps only a hash.
	list, err := b.st.ListAPITokens(t.Context(), 1)
	require.NoError(t, err)
	require.Len(t, list, 1)
	require.NotContains(t, list[0].Hash, tok[4:])

	tests := []struct {
		name, tok, method, path, body string
		status                        int
		code, field                   string
	}{
		{"no token", "", "GET", "/api/v1/mappings", "", 401, "unauthorized", ""},
		{"unknown token", "cpl_nope", "GET", "/api/v1/mappings", "", 401, "unauthorized", ""},
		{"unknown mapping", tok, "GET", "/api/v1/mappings/NOPE", "", 404, "not_found", "name"},
		{"bad limit", tok, "GET", "/api/v1/jobs?limit=0", "", 422, "unprocessable_entity", "limit"},
		{"unknown body field", tok, "POST", "/api/v1/sync", `{"mapings":["CUSTOMER"]}`, 422, "unprocessable_entity", ""},
		{"sync while not set up", tok, "POST", "/api/v1/sync", `{"mappings":["CUSTOMER"]}`, 409, "conflict", ""},
		{"sync unknown mapping", tok, "POST", "/api/v1/sync", `{"mappings":["NOPE"]}`, 422, "unprocessable_entity", "mapping"},
		{"couple without id", tok, "POST", "/api/v1/couplings", `{"mapping":"CUSTOMER","crm_id":"x"}`, 422, "unprocessable_entity", "erp_id"},
		{"retry unknown error", tok, "POST", "/api/v1/errors/99/retry", ``, 404, "not_found", "id"},
		{"no connection", tok, "POST", "/api/v1/connection/test", ``, 404, "not_found", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := apiCall(t, b, tt.tok, tt.method, tt.path, tt.body)
			require.Equal(t, tt.status, status, body)
			require.Equal(t, tt.code, body["code"], body)
			require.NotEmpty(t, body["message"])
			if tt.field != "" {
				require.Equal(t, tt.field, body["field"], body)
			}
		})
	}

	status, body := apiCall(t, b, tok, "GET", "/api/v1/mappings", "")
	require.Equal(t, 200, status)
	require.NotEmpty(t, body["mappings"])
	status, body = apiCall(t, b, tok, "GET", "/api/v1/connection", "")
	require.Equal(t, 200, status)
	require.Nil(t, body["connection"])
	require.Equal(t, false, body["secrets"].(map[string]any)["crm_password"])

	// A revoked token stops working.
	csrf := csrfFrom(t, c, b.srv.URL+"/tokens")
	resp, err := c.PostForm(b.srv.URL+"/tokens/1/delete", url.Values{"csrf_token": {csrf}})
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	status, _ = apiCall(t, b, tok, "GET", "/api/v1/mappings", "")
	require.Equal(t, 401, status)
}

// TestOpenAPIDescribesEveryRoute parses the served document and checks that
// every registered /api/v1 route is described with the same method, and
// that every described operation is registered.
func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var doc struct {
		OpenAPI string                               `json:"openapi"`
		Paths   map[string]map[string]map[string]any `json:"paths"`
	}
	require.NoError(t, json.Unmarshal(openAPIDocument(t, b), &doc))
	require.True(t, strings.HasPrefix(doc.OpenAPI, "3."))
	registered := map[string]bool{}
	for _, r := range b.handler.Routes() {
		method, path, _ := strings.Cut(r.Pattern, " ")
		if !strings.HasPrefix(path, "/api/v1/") {
			continue
		}
		key := strings.ToLower(method) + " " + path
		registered[key] = true
		op, ok := doc.Paths[path][strings.ToLower(method)]
		require.True(t, ok, "route %s is not in openapi.json", r.Pattern)
		require.NotEmpty(t, op["summary"], r.Pattern)
		responses, _ := op["responses"].(map[string]any)
		require.NotEmpty(t, responses, r.Pattern)
		if r.Role != "" {
			require.Contains(t, op["description"], string(r.Role), "%s: the document names the role", r.Pattern)
			require.Contains(t, responses, "401", r.Pattern)
		}
		for _, seg := range strings.Split(path, "/") {
			if strings.HasPrefix(seg, "{") {
				name := strings.Trim(seg, "{}")
				found := false
				params, _ := op["parameters"].([]any)
				for _, p := range params {
					pm := p.(map[string]any)
					found = found || pm["name"] == name && pm["in"] == "path"
				}
				require.True(t, found, "%s: path parameter %s is not described", r.Pattern, name)
			}
		}
	}
	for path, ops := range doc.Paths {
		for method := range ops {
			require.True(t, registered[method+" "+path], "openapi.json describes %s %s, which is not registered", method, path)
		}
	}
}
