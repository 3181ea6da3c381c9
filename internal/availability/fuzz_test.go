package availability_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/coupler/coupler/internal/availability"
	"github.com/coupler/coupler/internal/bc"
	"github.com/coupler/coupler/internal/store"
	_ "github.com/coupler/coupler/internal/store/sqlite"
)

// FuzzRequest sends arbitrary paths and query strings to the service (with a
// valid key, and an ERP that is away): every answer is a JSON OData error or
// a document, never a panic or an empty body.
func FuzzRequest(f *testing.F) {
	for _, s := range [][2]string{
		{"ProductItemAvailability", "$filter=ItemNo eq '1996-S'"},
		{"ProductItemAvailability('1996-S')", "$select=Inventory"},
		{"ProductItemAvailability(ItemNo='x''y')", ""},
		{"ProductItemAvailability(", "$filter=("},
		{"$metadata", ""},
		{"", "$top=-1&$skip=abc"},
		{"ProductItemAvailability", "$select=Nope&$expand=x"},
		{"ProductItemAvailability('%zz')", ""},
	} {
		f.Add(s[0], s[1])
	}
	st, err := store.Open(context.Background(), store.Options{DataDir: f.TempDir(), Logger: slog.New(slog.DiscardHandler)})
	require.NoError(f, err)
	f.Cleanup(func() { _ = st.Close() })
	key, _, err := availability.CreateKey(context.Background(), st, "ADMIN")
	require.NoError(f, err)
	svc, err := availability.New(availability.Options{Store: st, Logger: slog.New(slog.DiscardHandler),
		ERP: func(context.Context) (*bc.Client, error) { return nil, errors.New("the ERP is away") }})
	require.NoError(f, err)
	h := svc.Handler()
	f.Fuzz(func(t *testing.T, path, query string) {
		u := &url.URL{Path: "/odata/v4/" + path, RawQuery: query}
		req := httptest.NewRequest(http.MethodGet, "http://127.0.0.1/", nil)
		req.URL = u
		req.SetBasicAuth("ADMIN", key)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		require.NotEmpty(t, rec.Body.Bytes())
		if rec.Code == http.StatusOK {
			return // service document or $metadata
		}
		if rec.Code == http.StatusTemporaryRedirect || rec.Code == http.StatusMovedPermanently {
			require.NotEmpty(t, rec.Header().Get("Location"), "ServeMux sends unclean paths to their clean form")
			return
		}
		var e struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &e), "%d %s", rec.Code, rec.Body)
		require.NotEmpty(t, e.Error.Message)
	})
}
