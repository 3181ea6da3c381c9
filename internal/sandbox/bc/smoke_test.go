package bc

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSmoke(t *testing.T) {
	e := setup(t)
	r := e.do("GET", "customers", "")
	require.Equal(t, http.StatusOK, r.status, string(r.body))
	t.Log(string(r.body)[:600])
	r = e.do("GET", "items?$filter=number eq '1896-S'", "")
	t.Log(string(r.body))
	r = e.do("GET", "salesOrders?$expand=salesOrderLines", "")
	t.Log(string(r.body)[:1500])
}
