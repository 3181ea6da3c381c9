package syncer_test

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/coupler/coupler/internal/mapping"
	"github.com/coupler/coupler/internal/syncer"
)

// TestLiveInterruptedFullSyncsLeaveNoDuplicates stops a full
// synchronisation at 20 random moments (the context is cancelled: in-flight
// HTTP requests are abandoned, possibly after the simulator applied them,
// and nothing after is recorded), restarting each time, then checks that
// every record exists once on each side and every coupling points at live
// records. (The SIGKILL variant with separate processes is not written yet.)
func TestLiveInterruptedFullSyncsLeaveNoDuplicates(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("interrupts a 1,000-record sandbox 20 times")
	}
	scale := 150
	if raceEnabled {
		scale = 20
	}
	l := setupLive(t, scale)
	ctx := context.Background()
	names := []string{mapping.Salespeople, mapping.Currency, mapping.UnitOfMeasure, mapping.PaymentTerms, mapping.ShipmentMethod,
		mapping.Customer, mapping.ItemProduct, mapping.PriceList, mapping.ProductPrice}

	// How long an uninterrupted full run takes on this machine, measured on
	// a second sandbox so that this one starts untouched.
	ref := setupLive(t, scale)
	start := time.Now()
	_, err := ref.eng.Run(ctx, names, syncer.RunOptions{Full: true})
	require.NoError(t, err)
	full := time.Since(start)
	t.Logf("an uninterrupted full sync takes %s", full)

	rng := rand.New(rand.NewPCG(42, 6))
	for i := range 20 {
		after := time.Duration(rng.Int64N(int64(full)))
		cctx, cancel := context.WithTimeout(ctx, after)
		_, _ = l.eng.Run(cctx, names, syncer.RunOptions{Full: true})
		cancel()
		_ = i
	}
	jobs, err := l.eng.Run(ctx, names, syncer.RunOptions{Full: true})
	require.NoError(t, err)
	for _, j := range jobs {
		require.Equal(t, "succeeded", j.Status, "%s: %s", j.Mapping, j.Message)
	}

	for _, c := range []struct{ m, erpSet, crmSet, crmKey, number, crmNumber string }{
		{mapping.Customer, "customers", "accounts", "accountid", "number", "accountnumber"},
		{mapping.ItemProduct, "items", "products", "productid", "number", "productnumber"},
	} {
		erpRecs, err := l.erp.Find(ctx, c.erpSet, "id", "")
		require.NoError(t, err)
		crmRecs, err := l.crm.Find(ctx, c.crmSet, c.crmKey, "")
		require.NoError(t, err)
		crmByID := map[string]syncer.Record{}
		perNumber := map[string]int{}
		for _, r := range crmRecs {
			crmByID[r.ID] = r
			if n, _ := r.Fields[c.crmNumber].(string); n != "" {
				perNumber[n]++
			}
		}
		for _, r := range erpRecs {
			n, _ := r.Fields[c.number].(string)
			require.Equal(t, 1, perNumber[n], "%s: ERP %s %s is in the CRM %d times", c.m, c.erpSet, n, perNumber[n])
			cp := l.coupled(t, c.m, r.ID)
			got, ok := crmByID[cp.CRMID]
			require.True(t, ok, "%s: coupling of %s points at a missing CRM row", c.m, n)
			require.Equal(t, n, got.Fields[c.crmNumber])
		}
		count, err := l.st.CountCouplings(ctx, c.m)
		require.NoError(t, err)
		require.Equal(t, len(erpRecs), count, "%s: one coupling per ERP record", c.m)
		intents, err := l.st.ListIntents(ctx, c.m)
		require.NoError(t, err)
		require.Empty(t, intents, "%s: every interrupted write was reconciled", c.m)
	}
}
