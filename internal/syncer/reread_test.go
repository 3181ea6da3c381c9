package syncer_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/coupler/coupler/internal/mapping"
)

// TestFullRunRereadsMatchedRows: a full run keeps only the ids of the
// uncoupled CRM rows it reads; the rows matching couples are read again.
// A few are fetched by id; when matching couples most of a table (a first
// synchronisation of data both sides hold), the table is read once more
// instead of in thousands of requests of 50. Either way the ERP values
// reach every matched account and nothing is created twice.
func TestFullRunRereadsMatchedRows(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name       string
		matching   int
		tableReads int // full reads of accounts: the first, and the reread when many matched
	}{
		{"few by id", 3, 1},
		{"many by a second read", 2500, 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := setup(t, nil)
			e.crm.pageSize = 1000
			for i := range tt.matching {
				name := fmt.Sprintf("Customer %05d", i)
				e.erp.put("customers", fmt.Sprintf("c-m%05d", i), customer(fmt.Sprintf("M%05d", i), name, "JO", "pt-1"))
				e.crm.put("accounts", fmt.Sprintf("a-m%05d", i), map[string]any{"name": name, "customertypecode": 3, "statecode": 0})
			}
			for i := range 5 {
				e.crm.put("accounts", fmt.Sprintf("a-other%d", i), map[string]any{"name": fmt.Sprintf("CRM only %d", i), "customertypecode": 3, "statecode": 0})
			}
			e.run(t, true, mapping.Salespeople, mapping.Currency, mapping.PaymentTerms, mapping.ShipmentMethod)
			_, before, _ := e.crm.counters("accounts")
			j := e.run(t, true, mapping.Customer)[mapping.Customer]
			require.Equal(t, "succeeded", j.Status, j.Message)
			require.Equal(t, tt.matching, j.Counts.Coupled, j.Message)
			require.Contains(t, j.Message, "5 uncoupled record(s) left alone")
			_, after, _ := e.crm.counters("accounts")
			rows := tt.matching + 5
			// The second read follows the ERP phase's first pass, which
			// created the two demo customers that match nothing.
			require.Equal(t, tt.tableReads*rows+(tt.tableReads-1)*2, after-before, "records the CRM reads returned")
			for i := range tt.matching {
				acc := e.crm.get("accounts", fmt.Sprintf("a-m%05d", i))
				require.Equal(t, fmt.Sprintf("M%05d", i), acc["accountnumber"], "ERP values written to the matched account")
			}
			require.Equal(t, rows+2, e.crm.count("accounts"), "only the two unmatched demo customers were created")
		})
	}
}
