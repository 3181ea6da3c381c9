package dataverse

import (
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestScaleSpreadsTimesBeforeTheSeed(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	e := setup(t, setupOpts{scale: 1000, clock: func() time.Time { return now }})
	for _, table := range []string{"account", "contact", "product"} {
		ts := e.srv.db.store(table)
		var mods, versions []int64
		for _, r := range ts.changes {
			mods = append(mods, r.modified)
			versions = append(versions, r.version)
		}
		require.True(t, slices.IsSorted(mods), "%s: change log in modifiedon order", table)
		require.True(t, slices.IsSorted(versions), "%s: change log in version order", table)
		created, modified := ts.t.col("createdon"), ts.t.col("modifiedon")
		var synthetic []time.Time
		for _, r := range ts.changes {
			if r.base == nil {
				continue
			}
			c, m := r.value(created).(time.Time), r.value(modified).(time.Time)
			require.Equal(t, c, m)
			require.Equal(t, r.modified, m.UnixNano())
			synthetic = append(synthetic, m)
		}
		require.Len(t, synthetic, 1000, table)
		require.True(t, synthetic[999].Before(now), table)
		require.False(t, synthetic[0].Before(now.Add(-seedSpan)), table)
		require.True(t, synthetic[0].Before(now.Add(-seedSpan/2)), "%s: spread over the span", table)
		require.Len(t, slices.CompactFunc(synthetic, time.Time.Equal), 1000, "%s: one time per row", table)
	}

	// A read from a few seconds before the seed returns the demo rows, not the synthetic ones.
	r := e.do(t, "GET", "accounts?$select=name&$filter=modifiedon ge "+now.Add(-5*time.Second).Format(time.RFC3339), nil)
	require.Equal(t, 200, r.status, string(r.body))
	require.Len(t, r.values(t), 9)

	// An update moves modifiedon and keeps createdon.
	id := "accounts(" + e.firstSynthetic(t) + ")"
	r = e.do(t, "PATCH", id, map[string]any{"telephone1": "1"})
	require.Equal(t, 204, r.status, string(r.body))
	v := e.do(t, "GET", id+"?$select=createdon,modifiedon", nil).json(t)
	require.Equal(t, now.Add(-1000*seedStep(1000)).Format(time.RFC3339), v["createdon"])
	require.Equal(t, now.Format(time.RFC3339), v["modifiedon"])
}

func (e *env) firstSynthetic(t testing.TB) string {
	t.Helper()
	vals := e.do(t, "GET", "accounts?$select=name&$filter=accountnumber eq 'SYN0000001'", nil).values(t)
	require.Len(t, vals, 1)
	return vals[0]["accountid"].(string)
}
