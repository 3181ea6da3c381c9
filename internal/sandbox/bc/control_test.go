package bc

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestControlEndpoints(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	e := setup(t, func(o *Options) { o.Clock = func() time.Time { return now } })
	base := e.hs.URL + "/_sandbox"
	r := e.do("GET", base+"/info", "")
	require.Equal(t, http.StatusOK, r.status)
	info := r.json(t)
	require.Equal(t, e.srv.Credentials().CompanyID, info["companyId"])
	require.EqualValues(t, 5, info["records"].(map[string]any)["customers"])

	r = e.do("POST", base+"/salesOrders/101003/release", "")
	require.Equal(t, "Open", r.json(t)["status"])
	r = e.do("POST", base+"/salesOrders/101003/reopen", "")
	require.Equal(t, "Draft", r.json(t)["status"])
	r = e.do("POST", base+"/salesOrders/999/release", "")
	require.Equal(t, http.StatusNotFound, r.status)

	now = now.Add(time.Hour)
	r = e.do("PATCH", base+"/customers/30000", `{"phoneNumber":"+1 305 555 0100"}`)
	require.Equal(t, http.StatusOK, r.status, string(r.body))
	changed := e.do("GET", "customers?$filter=lastModifiedDateTime gt 2026-11-25T10:30:00Z", "").values(t)
	require.Len(t, changed, 1)
	require.Equal(t, "+1 305 555 0100", changed[0]["phoneNumber"])
	r = e.do("PATCH", base+"/customers/30000", `{"colour":"red"}`)
	require.Equal(t, http.StatusBadRequest, r.status)

	r = e.do("POST", base+"/items/1900-S/adjust", `{"quantity":-20}`)
	require.Equal(t, http.StatusOK, r.status, string(r.body))
	require.InDelta(t, 480, r.json(t)["inventory"], 1e-9)
	r = e.do("POST", base+"/items/1900-S/adjust", `{}`)
	require.Equal(t, http.StatusBadRequest, r.status)
	r = e.do("GET", base+"/nothing", "")
	require.Equal(t, http.StatusNotFound, r.status)
}
