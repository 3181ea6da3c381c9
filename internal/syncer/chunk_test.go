package syncer_test

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/coupler/coupler/internal/mapping"
	"github.com/coupler/coupler/internal/syncer"
)

// chunked is an engine over l's store and sides that divides full
// synchronisations into chunks of size records.
func (l *live) chunked(t *testing.T, size int) *syncer.Engine {
	t.Helper()
	eng, err := syncer.New(syncer.Options{Store: l.st, CRM: l.crm, ERP: l.erp, Logger: slog.New(slog.DiscardHandler), ChunkRecords: size,
		Mappings: func(context.Context) ([]mapping.TableMapping, error) { return l.ms, nil }})
	require.NoError(t, err)
	return eng
}

// TestLiveChunkedFullSync: a full synchronisation of 2,000 customers cut
// into chunks run at once (as instances would) and a closing full run
// gives what one run gives: every customer in the CRM once, coupled once;
// the demo's accounts that match by name (never synchronised since they
// were coupled) go through the conflict rules in the closing run, not
// through a chunk, so the ERP's values land and the difference found at
// coupling is recorded as before.
func TestLiveChunkedFullSync(t *testing.T) {
	t.Parallel()
	l := setupLive(t, 2000)
	ctx := context.Background()
	l.run(t, true, mapping.Salespeople, mapping.Currency, mapping.PaymentTerms, mapping.ShipmentMethod)
	eng := l.chunked(t, 400)

	plan, err := eng.PlanFull(ctx, mapping.Customer)
	require.NoError(t, err)
	require.Empty(t, plan.Reason)
	require.GreaterOrEqual(t, plan.Records, 2000)
	require.Equal(t, 5, plan.Coupled, "the demo's five accounts matched by name while planning")
	require.GreaterOrEqual(t, len(plan.Chunks), 5)
	var held []string
	for i, ch := range plan.Chunks {
		require.Equal(t, i, ch.Index)
		require.Equal(t, len(plan.Chunks), ch.Of)
		require.Equal(t, "number", ch.Field)
		require.Equal(t, i == 0, ch.From == "", "only the first chunk starts unbounded")
		require.Equal(t, i == len(plan.Chunks)-1, ch.To == "", "only the last chunk ends unbounded")
		if i > 0 {
			require.Equal(t, plan.Chunks[i-1].To, ch.From, "ranges follow each other")
		}
		held = append(held, ch.Hold...)
	}
	adatum := l.erpByNumber(t, "customers", "number", "10000")
	sofa := l.erpByNumber(t, "customers", "number", "30000")
	require.Len(t, held, 5, "the five matched pairs are left to the closing run")
	require.Contains(t, held, adatum.ID)
	require.Contains(t, held, sofa.ID)

	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		counts syncer.Counts
	)
	for _, ch := range plan.Chunks {
		wg.Go(func() {
			job, err := eng.RunChunk(ctx, mapping.Customer, ch, "full")
			require.NoError(t, err)
			require.Equal(t, "succeeded", job.Status, job.Message)
			require.Contains(t, job.Message, ch.String())
			mu.Lock()
			counts.Inserted += job.Counts.Inserted
			counts.Modified += job.Counts.Modified
			counts.Failed += job.Counts.Failed
			mu.Unlock()
		})
	}
	wg.Wait()
	require.Zero(t, counts.Failed)
	require.Equal(t, plan.Records-5, counts.Inserted, "each chunk created its uncoupled customers; the held ones wait")

	jobs, err := eng.Run(ctx, []string{mapping.Customer}, syncer.RunOptions{Full: true, Closing: true, Note: "after the chunks"})
	require.NoError(t, err)
	require.Len(t, jobs, 1)
	closing := jobs[0]
	require.Equal(t, "succeeded", closing.Status, closing.Message)
	require.Zero(t, closing.Counts.Inserted, "the closing run finds the chunks' records written")
	require.Equal(t, 5, closing.Counts.Modified, "the closing run writes the held pairs")
	require.Contains(t, closing.Message, "after the chunks")

	acc := l.crmByID(t, "accounts", "accountid", l.coupled(t, mapping.Customer, adatum.ID).CRMID)
	require.Equal(t, "10000", acc["accountnumber"])
	require.Equal(t, adatum.Fields["city"], acc["address1_city"])
	errs, err := l.st.ListErrors(ctx, syncer.ErrorQuery{Mapping: mapping.Customer})
	require.NoError(t, err)
	var noted bool
	for _, e := range errs {
		noted = noted || (e.ERPID == sofa.ID && strings.Contains(e.Message, `city↔address1_city (ERP "Miami", CRM "Miami Beach")`))
	}
	require.True(t, noted, "the difference found at coupling is recorded as by one run")

	customers, err := l.erp.Find(ctx, "customers", "id", "")
	require.NoError(t, err)
	accounts, err := l.crm.Find(ctx, "accounts", "accountid", "")
	require.NoError(t, err)
	crmIDs := map[string]bool{}
	for _, a := range accounts {
		crmIDs[a.ID] = true
	}
	seen := map[string]bool{}
	for _, c := range customers {
		cp := l.coupled(t, mapping.Customer, c.ID)
		require.True(t, crmIDs[cp.CRMID], "customer %s coupled to a missing account", c.ID)
		require.False(t, seen[cp.CRMID], "account %s coupled twice", cp.CRMID)
		seen[cp.CRMID] = true
	}
	intents, err := l.st.ListIntents(ctx, mapping.Customer)
	require.NoError(t, err)
	require.Empty(t, intents)
}

// TestPlanFullKeepsOneJob: the mappings a plan does not divide, and why.
func TestPlanFullKeepsOneJob(t *testing.T) {
	t.Parallel()
	l := setupLive(t)
	ctx := context.Background()
	for _, c := range []struct {
		name    string
		size    int
		mapping string
		reason  string
	}{
		{"off", 0, mapping.Customer, "sync.chunk_records is 0"},
		{"small table", 100, mapping.Customer, "fewer than two chunks of 100"},
		{"option mapping", 1, mapping.PaymentTerms, "only table mappings"},
		{"header with lines", 1, mapping.PostedInvoice, "line mappings"},
	} {
		t.Run(c.name, func(t *testing.T) {
			plan, err := l.chunked(t, c.size).PlanFull(ctx, c.mapping)
			require.NoError(t, err)
			require.Empty(t, plan.Chunks)
			require.Contains(t, plan.Reason, c.reason)
		})
	}
	_, err := l.chunked(t, 10).PlanFull(ctx, "NOPE")
	require.ErrorIs(t, err, syncer.ErrUnknownMapping)
}
