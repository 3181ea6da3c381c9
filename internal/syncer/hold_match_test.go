package syncer_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/coupler/coupler/internal/mapping"
	"github.com/coupler/coupler/internal/syncer"
)

// TestFullRunReadsERPOnceWhileMatching: a full run that couples by match
// fields reads the ERP table once (twice when the match index is too
// large to keep through the ERP phase, with the same outcome); the records with a CRM candidate are
// held back and read again by id once matching has decided, so the
// matched ones update their accounts, the ambiguous one and the rest are
// created, and nothing is created twice. Priority and order are those of
// a matching pass of its own: a number match (priority 1) wins over an
// earlier ERP id's name match (priority 2) for the same account.
func TestFullRunReadsERPOnceWhileMatching(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name     string
		fresh    bool // no coupling before the run
		indexMax int  // the largest match index kept through the ERP phase; 0: the default
		erpReads int  // full reads of the customers
	}{
		{"first full run", true, 0, 1},
		{"with couplings", false, 0, 1},
		// Too large an index is decided first: a read of the match fields, then the table.
		{"index too large to keep", true, 1, 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := setup(t, nil)
			if tt.indexMax > 0 {
				syncer.SetHoldIndexMax(e.eng, tt.indexMax)
			}
			e.run(t, true, mapping.Salespeople, mapping.Currency, mapping.PaymentTerms, mapping.ShipmentMethod)
			if !tt.fresh {
				// One run before, over the two demo customers only.
				j := e.run(t, true, mapping.Customer)[mapping.Customer]
				require.Equal(t, "succeeded", j.Status, j.Message)
			}
			const bulk = 30
			for i := range bulk {
				e.erp.put("customers", fmt.Sprintf("c-b%03d", i), customer(fmt.Sprintf("B%03d", i), fmt.Sprintf("Bulk %d", i), "JO", "pt-1"))
			}
			// c-b001 matches by name (priority 2), c-b007 by number (priority 1): same account, the number wins.
			e.crm.put("accounts", "a-shared", map[string]any{"name": "Bulk 1", "accountnumber": "B007", "customertypecode": 3, "statecode": 0})
			e.crm.put("accounts", "a-b002", map[string]any{"name": "Bulk 2 (CRM)", "accountnumber": "B002", "customertypecode": 3, "statecode": 0})
			e.crm.put("accounts", "a-b003", map[string]any{"name": "Bulk 3", "customertypecode": 3, "statecode": 0})
			// Two accounts named alike: c-b004 is ambiguous and created.
			e.crm.put("accounts", "a-twin1", map[string]any{"name": "Bulk 4", "customertypecode": 3, "statecode": 0})
			e.crm.put("accounts", "a-twin2", map[string]any{"name": "Bulk 4", "customertypecode": 3, "statecode": 0})
			accounts := e.crm.count("accounts")
			_, readRec, _ := e.erp.counters("customers")

			j := e.run(t, true, mapping.Customer)[mapping.Customer]
			require.Equal(t, "succeeded", j.Status, j.Message)
			require.Equal(t, 3, j.Counts.Coupled, j.Message)
			require.Contains(t, j.Message, "c-b004")

			_, readRec2, _ := e.erp.counters("customers")
			require.Equal(t, tt.erpReads*(bulk+2), readRec2-readRec, "each customer came through the table reads (the held ones are read again by id)")

			for erpID, crmID := range map[string]string{"c-b007": "a-shared", "c-b002": "a-b002", "c-b003": "a-b003"} {
				c, err := e.st.GetCouplingByERP(t.Context(), mapping.Customer, erpID)
				require.NoError(t, err, erpID)
				require.Equal(t, crmID, c.CRMID, erpID)
			}
			require.Equal(t, "B002", e.crm.get("accounts", "a-b002")["accountnumber"])
			require.Equal(t, "Bulk 2", e.crm.get("accounts", "a-b002")["name"], "the matched account got the ERP values")
			created := bulk - 3
			if tt.fresh {
				created += 2 // the demo customers
			}
			require.Equal(t, accounts+created, e.crm.count("accounts"), "each unmatched customer created once")
			require.Equal(t, created, j.Counts.Inserted, j.Message)
			require.Equal(t, 3, j.Counts.Modified, j.Message)
		})
	}
}

// TestHeldRecordsReadAgainUnderTheFilter: a held record is read again
// under the mapping's ERP filter, so one changed since the first pass so
// as to leave the filter is not written, as a read of the table would not
// have returned it; the others are.
func TestHeldRecordsReadAgainUnderTheFilter(t *testing.T) {
	t.Parallel()
	e := setup(t, func(m *mapping.TableMapping) {
		if m.Name == mapping.Customer {
			m.ERPFilter = "country eq 'GB'"
		}
	})
	e.run(t, true, mapping.Salespeople, mapping.Currency, mapping.PaymentTerms, mapping.ShipmentMethod)
	for i := range 4 {
		e.erp.put("customers", fmt.Sprintf("c-b%03d", i), customer(fmt.Sprintf("B%03d", i), fmt.Sprintf("Bulk %d", i), "JO", "pt-1"))
	}
	e.crm.put("accounts", "a-b002", map[string]any{"name": "Bulk 2 (CRM)", "accountnumber": "B002", "customertypecode": 3, "statecode": 0})
	e.crm.put("accounts", "a-b003", map[string]any{"name": "Bulk 3 (CRM)", "accountnumber": "B003", "customertypecode": 3, "statecode": 0})
	// After the first pass and matching, before the held records are read
	// again: the CRM rows matching coupled are read again by id first.
	moved := false
	e.crm.onGet = func(entity string, _ []string) {
		if entity == "accounts" && !moved {
			moved = true
			c := customer("B002", "Bulk 2", "JO", "pt-1")
			c["country"] = "FR"
			e.erp.put("customers", "c-b002", c)
		}
	}

	j := e.run(t, true, mapping.Customer)[mapping.Customer]
	require.Equal(t, "succeeded", j.Status, j.Message)
	require.True(t, moved, "the hook ran between the passes")
	require.Equal(t, "Bulk 3", e.crm.get("accounts", "a-b003")["name"], "a held record in the filter is written")
	require.Equal(t, "Bulk 2 (CRM)", e.crm.get("accounts", "a-b002")["name"], "the one that left the filter is not")
}
