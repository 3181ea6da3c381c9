package bc

import (
	"bytes"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/coupler/coupler/internal/sandbox/identity"
)

func TestSnapshotRoundTrip(t *testing.T) {
	t.Parallel()
	e := setup(t)
	require.Equal(t, http.StatusNoContent, e.do("POST", "salesOrders("+seedID("salesOrders", "101004")+")/Microsoft.NAV.shipAndInvoice", "").status)
	created := e.do("POST", "customers", `{"displayName":"Snap Ltd"}`).json(t)
	var buf bytes.Buffer
	require.NoError(t, e.srv.SaveSnapshot(&buf))

	f := setup(t) // a fresh demo simulator, then loaded with the snapshot
	require.NoError(t, f.srv.LoadSnapshot(bytes.NewReader(buf.Bytes())))
	got := f.do("GET", "customers("+created["id"].(string)+")", "")
	require.Equal(t, http.StatusOK, got.status)
	require.Equal(t, created["@odata.etag"], got.header.Get("ETag"))
	require.InDelta(t, 497, inventory(t, f, "2000-S"), 1e-9)
	require.Len(t, f.do("GET", "salesOrders", "").values(t), 3)
	// numbering continues after the snapshot's numbers
	require.Equal(t, "C00020", f.do("POST", "customers", `{"displayName":"After"}`).json(t)["number"])

	other, err := New(Options{Identity: identity.New(identity.Options{}), Seed: "none"})
	require.NoError(t, err)
	require.NoError(t, other.LoadSnapshot(bytes.NewReader(buf.Bytes()))) // same company id: the name is fixed
	require.ErrorContains(t, other.LoadSnapshot(bytes.NewReader([]byte("junk"))), "reading snapshot")
	require.Equal(t, http.StatusOK, f.do("GET", f.hs.URL+"/_sandbox/healthz", "").status)
}
