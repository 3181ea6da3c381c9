package bc

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/coupler/coupler/internal/sandbox/identity"
)

func TestScaleIsDeterministic(t *testing.T) {
	t.Parallel()
	mk := func() *Server {
		s, err := New(Options{Identity: identity.New(identity.Options{}), Seed: "none", Scale: 1000, Clock: fixedClock})
		require.NoError(t, err)
		return s
	}
	a, b := mk(), mk()
	require.Equal(t, a.Credentials().CompanyID, b.Credentials().CompanyID)
	ca, cb := a.company.tables["customers"], b.company.tables["customers"]
	require.Len(t, ca.rows, 1000)
	require.Len(t, a.company.tables["contacts"].rows, 1000)
	require.Len(t, a.company.tables["items"].rows, 100)
	for i, r := range ca.sorted() {
		o := cb.sorted()[i]
		require.Equal(t, r.id, o.id)
		require.Equal(t, r.vals, o.vals)
	}
	require.InDelta(t, 100, a.company.inventory["SI0000001"], 1e-9)
}

func TestNewRejectsBadOptions(t *testing.T) {
	t.Parallel()
	_, err := New(Options{Seed: "demo"})
	require.ErrorContains(t, err, "Identity is required")
	_, err = New(Options{Identity: identity.New(identity.Options{}), Seed: "contoso"})
	require.ErrorContains(t, err, `unknown seed "contoso"`)
	_, err = New(Options{Identity: identity.New(identity.Options{}), Scale: -1})
	require.ErrorContains(t, err, "Scale must be >= 0")
	_ = time.Now
}
