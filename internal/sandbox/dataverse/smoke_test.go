package dataverse

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSmoke(t *testing.T) {
	t.Parallel()
	e := setup(t)
	r := e.do(t, "GET", "WhoAmI", nil)
	require.Equal(t, 200, r.status, string(r.body))
	t.Log(string(r.body))
	r = e.do(t, "GET", "accounts?$select=name,emailaddress1,_primarycontactid_value&$top=3", nil, `Prefer: odata.include-annotations="*"`)
	require.Equal(t, 200, r.status, string(r.body))
	t.Log(string(r.body))
	r = e.do(t, "GET", "accounts?$filter=startswith(name,'a')&$select=name", nil)
	require.Equal(t, 200, r.status, string(r.body))
	t.Log(string(r.body))
}
