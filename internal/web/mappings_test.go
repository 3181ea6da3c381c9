package web_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/coupler/coupler/internal/mapping"
)

func TestMappingEditValidatesAndResetNeedsConfirmation(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c, _ := signIn(t, b, "admin@example.com", "correct horse battery")
	def, ok := mapping.Default("CUSTOMER")
	require.True(t, ok)
	fields, err := json.Marshal(def.Fields)
	require.NoError(t, err)
	form := func(interval, skip, fieldsJSON string) url.Values {
		return url.Values{"csrf_token": {csrfFrom(t, c, b.srv.URL+"/mappings/CUSTOMER")}, "direction": {"ToCRM"}, "conflict": {"ERPWins"},
			"deletion": {"Fail"}, "interval": {interval}, "skip_after": {skip}, "fields": {fieldsJSON}, "only_coupled": {"yes"}}
	}
	post := func(path string, v url.Values) (int, string) {
		resp, err := c.PostForm(b.srv.URL+path, v)
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.StatusCode, string(body)
	}
	tests := []struct {
		name, interval, skip, fields string
		status                       int
		says                         string
	}{
		{"bad interval", "soon", "3", string(fields), http.StatusUnprocessableEntity, "interval: &#34;soon&#34; is not a positive duration"},
		{"negative skip", "15m", "-1", string(fields), http.StatusUnprocessableEntity, "skip after"},
		{"broken field list", "15m", "3", `[{"erp_feld":"x"}]`, http.StatusUnprocessableEntity, "field list: not valid JSON"},
		{"unknown field", "15m", "3", `[{"erp_field":"nope","crm_field":"name","direction":"ToCRM"}]`, http.StatusUnprocessableEntity, "nope"},
		{"valid", "15m", "3", string(fields), http.StatusOK, "Mapping CUSTOMER saved."},
	}
	for _, tt := range tests {
		status, body := post("/mappings/CUSTOMER", form(tt.interval, tt.skip, tt.fields))
		require.Equal(t, tt.status, status, tt.name)
		require.Contains(t, body, tt.says, tt.name)
	}
	m, err := b.st.GetMapping(t.Context(), "CUSTOMER")
	require.NoError(t, err)
	require.Equal(t, mapping.ToCRM, m.Direction)
	require.Equal(t, "15m0s", m.Schedule().String())
	all, err := b.st.ListMappings(t.Context())
	require.NoError(t, err)
	require.Len(t, all, len(mapping.Defaults()), "editing one default mapping stores the whole set")

	csrf := csrfFrom(t, c, b.srv.URL+"/mappings")
	status, body := post("/mappings/reset", url.Values{"csrf_token": {csrf}})
	require.Equal(t, http.StatusUnprocessableEntity, status)
	require.Contains(t, body, "confirm")
	m, err = b.st.GetMapping(t.Context(), "CUSTOMER")
	require.NoError(t, err)
	require.Equal(t, mapping.ToCRM, m.Direction, "nothing is reset without the confirmation")

	status, _ = post("/mappings/reset", url.Values{"csrf_token": {csrf}, "confirm": {"yes"}})
	require.Equal(t, http.StatusSeeOther, status)
	m, err = b.st.GetMapping(t.Context(), "CUSTOMER")
	require.NoError(t, err)
	require.Equal(t, def.Direction, m.Direction)
}

// TestEveryPageRenders opens every page as each role on a fresh install:
// a template that cannot execute fails here, not in front of a user.
func TestEveryPageRenders(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, who := range []string{"admin@example.com", "operator@example.com", "viewer@example.com"} {
		c, _ := signIn(t, b, who, "correct horse battery")
		for _, r := range b.handler.Routes() {
			method, path := routePath(r.Pattern)
			if r.Role == "" || method != http.MethodGet || len(path) > 4 && path[:5] == "/api/" {
				continue
			}
			resp, err := c.Get(b.srv.URL + path)
			require.NoError(t, err)
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			want := http.StatusOK
			switch {
			case path == "/errors/1":
				want = http.StatusNotFound // no error recorded yet
			case r.Role == "admin" && who != "admin@example.com":
				want = http.StatusForbidden
			}
			require.Equal(t, want, resp.StatusCode, "%s as %s: %s", path, who, body)
			require.NotContains(t, string(body), "could not be rendered", path)
		}
	}
}
