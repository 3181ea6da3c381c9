package bc

import (
	"slices"
	"strings"
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

func TestScaleSpreadsModificationTimes(t *testing.T) {
	t.Parallel()
	s, err := New(Options{Identity: identity.New(identity.Options{}), Seed: "demo", Scale: 1000, Clock: fixedClock})
	require.NoError(t, err)
	now := fixedClock().UnixMilli()
	for _, set := range []string{"customers", "contacts", "items"} {
		tb := s.company.tables[set]
		prefix := map[string]string{"customers": "S0", "contacts": "SCT", "items": "SI"}[set]
		var mods []int64
		for _, r := range tb.sorted() {
			if strings.HasPrefix(tb.str(r, "number"), prefix) {
				mods = append(mods, r.mod)
			}
		}
		require.NotEmpty(t, mods, set)
		require.True(t, slices.IsSorted(mods), set)
		require.Len(t, slices.Compact(slices.Clone(mods)), len(mods), "%s: one time per row", set)
		require.Less(t, mods[len(mods)-1], now, set)
		require.GreaterOrEqual(t, mods[0], now-seedSpan.Milliseconds(), set)
		require.Less(t, mods[0], now-seedSpan.Milliseconds()/2, "%s: spread over the span", set)
	}
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
