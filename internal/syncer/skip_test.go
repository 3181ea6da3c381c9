package syncer_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/coupler/coupler/internal/mapping"
	"github.com/coupler/coupler/internal/syncer"
)

// A record that fails before it was ever coupled follows the same visible
// skip rule as a coupled one: retried, skipped after skip_after identical
// failures with a Skipped error saying what to do, left alone while
// skipped (counted when read), and put back by restore-skipped.
func TestUncoupledRecordIsSkippedVisiblyAndRestored(t *testing.T) {
	t.Parallel()
	e := setup(t, func(m *mapping.TableMapping) {
		if m.Name == mapping.Customer {
			m.OnlyCoupled = false // incremental runs retry uncoupled records
		}
	})
	e.erp.put("customers", "c-30000", customer("30000", "School of Fine Art", "BC", "pt-1"))
	j := e.run(t, true)[mapping.Customer]
	require.Equal(t, 1, j.Counts.Failed)
	require.Zero(t, j.Counts.Skipped)

	e.clock.t = e.clock.t.Add(time.Minute)
	j = e.run(t, false, mapping.Customer)[mapping.Customer]
	require.Equal(t, 1, j.Counts.Failed, "retried by the next run")
	require.Equal(t, 1, j.Counts.Skipped, "second identical failure: skipped (skip_after=2)")
	var skip *syncer.SyncError
	for _, se := range e.openErrors(t, mapping.Customer) {
		if se.Code == syncer.CodeSkipped {
			skip = &se
		}
	}
	require.NotNil(t, skip, "the skip is an error row, not silent")
	require.Equal(t, "c-30000", skip.ERPID)
	require.Contains(t, skip.Message, "not coupled yet and skipped after 2 identical failures")
	require.Contains(t, skip.Message, "coupler sync restore-skipped")

	e.clock.t = e.clock.t.Add(time.Minute)
	j = e.run(t, false, mapping.Customer)[mapping.Customer]
	require.Zero(t, j.Counts.Failed, "a skipped record is not retried")
	j = e.run(t, true, mapping.Customer)[mapping.Customer]
	require.Zero(t, j.Counts.Failed)
	require.Equal(t, 1, j.Counts.Skipped, "read again by a full run: counted as skipped")
	require.Nil(t, e.crm.get("accounts", accountID("c-30000")))

	// Fix the cause (the salesperson gets a CRM user), restore, run.
	e.crm.put("systemusers", "u-bc", map[string]any{"internalemailaddress": "bc@contoso.com", "fullname": "Benjamin Chiu", "isdisabled": false, "islicensed": true, "isintegrationuser": false})
	n, err := e.eng.RestoreSkipped(context.Background(), mapping.Customer)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	e.clock.t = e.clock.t.Add(time.Minute)
	jobs := e.run(t, true)
	require.Equal(t, 1, jobs[mapping.Customer].Counts.Inserted, jobs[mapping.Customer].Message)
	require.Zero(t, jobs[mapping.Customer].Counts.Failed)
	require.NotNil(t, e.crm.get("accounts", accountID("c-30000")))
	require.Empty(t, e.openErrors(t, mapping.Customer))
}
