package syncer_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/coupler/coupler/internal/mapping"
	"github.com/coupler/coupler/internal/syncer"
)

// A full run finds coupled ERP records that were deleted (BC has no
// deletion feed) and applies the deletion rule, visibly, without waiting
// for the record to fail first.
func TestFullRunFindsERPDeletions(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		rule        mapping.DeletionRule
		wantFailed  int
		wantUncoupl int
		wantMsg     string
		wantCoupled bool
	}{
		{mapping.DeletionFail, 1, 0, "the ERP record was deleted but its coupled CRM record", true},
		{mapping.DeletionUncouple, 0, 1, "coupling removed (deletion rule RemoveCoupling)", false},
	} {
		t.Run(string(tt.rule), func(t *testing.T) {
			t.Parallel()
			e := setup(t, func(m *mapping.TableMapping) {
				if m.Name == mapping.Customer {
					m.Deletion = tt.rule
				}
			})
			e.run(t, true)
			e.clock.t = e.clock.t.Add(time.Minute)
			e.erp.del("customers", "c-20000")

			j := e.run(t, false, mapping.Customer)[mapping.Customer]
			require.Zero(t, j.Counts.Failed, "an incremental run reads changes only: it cannot see a deletion")

			j = e.run(t, true, mapping.Customer)[mapping.Customer]
			require.Equal(t, tt.wantFailed, j.Counts.Failed, j.Message)
			require.Equal(t, tt.wantUncoupl, j.Counts.Uncoupled, j.Message)
			var found bool
			for _, se := range e.errorsOf(t, mapping.Customer) {
				if se.Code == syncer.CodeSourceDeleted && se.ERPID == "c-20000" {
					found = true
					require.Contains(t, se.Message, tt.wantMsg)
				}
			}
			require.True(t, found, "the deletion is recorded")
			_, err := e.st.GetCouplingByERP(context.Background(), mapping.Customer, "c-20000")
			require.Equal(t, tt.wantCoupled, err == nil)
			require.NotNil(t, e.crm.get("accounts", accountID("c-20000")), "never propagated silently: the CRM row stays")
			_, err = e.st.GetCouplingByERP(context.Background(), mapping.Customer, "c-10000")
			require.NoError(t, err, "the other record is untouched")
		})
	}
}

func (e *env) errorsOf(t *testing.T, m string) []syncer.SyncError {
	t.Helper()
	es, err := e.st.ListErrors(context.Background(), syncer.ErrorQuery{Mapping: m})
	require.NoError(t, err)
	return es
}
