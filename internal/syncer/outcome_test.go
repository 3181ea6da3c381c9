package syncer_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/coupler/coupler/internal/mapping"
	"github.com/coupler/coupler/internal/syncer"
)

// TestFlowRecordsOutcomesWhenABatchFails: a flow's outcomes wait for the
// flush before their page's checkpoint, so when a batch fails mid-page the
// batches before it are still recorded (coupled, their intents gone), the
// failed one's intent is left for the next run, and the ERP cursor does
// not pass the page. The next run completes without a duplicate.
func TestFlowRecordsOutcomesWhenABatchFails(t *testing.T) {
	t.Parallel()
	e := setupSixCustomers(t) // the first page: four batches of one
	writes := 0
	e.crm.refuse = func(entity string, op syncer.Op) *syncer.WriteError {
		if entity == "accounts" {
			if writes++; writes == 3 {
				e.crm.crashAfterWrite = true // written, then the answer is lost
			}
		}
		return nil
	}
	jobs, err := batchByBatch(t, e, e.st, 1).Run(context.Background(), []string{mapping.Customer}, syncer.RunOptions{Full: true})
	require.NoError(t, err)
	require.Equal(t, "failed", jobs[0].Status, jobs[0].Message)

	ctx := context.Background()
	n, err := e.st.CountCouplings(ctx, mapping.Customer)
	require.NoError(t, err)
	require.Equal(t, 2, n, "the two batches written before the failure are recorded")
	for _, id := range []string{"c-10000", "c-20000"} {
		_, err := e.st.GetCouplingByERP(ctx, mapping.Customer, id)
		require.NoError(t, err, id)
	}
	intents, err := e.st.ListIntents(ctx, mapping.Customer)
	require.NoError(t, err)
	require.Len(t, intents, 1, "only the failed batch's intent is left")
	_, err = e.st.GetCursor(ctx, mapping.Customer, syncer.SideERP)
	require.ErrorIs(t, err, syncer.ErrNoRow, "the first page is not checkpointed: its last two records are not written")

	e.crm.refuse, e.crm.crashAfterWrite = nil, false
	again := e.run(t, true, mapping.Customer)[mapping.Customer]
	require.Equal(t, "succeeded", again.Status, again.Message)
	n, err = e.st.CountCouplings(ctx, mapping.Customer)
	require.NoError(t, err)
	require.Equal(t, 8, n)
	require.Equal(t, 8, e.crm.count("accounts"), "the account of the failed batch was reconciled, not created twice")
}

// cursorWatch counts a mapping's couplings each time its ERP cursor moves.
type cursorWatch struct {
	syncer.Store
	mu      sync.Mutex
	coupled []int
}

func (w *cursorWatch) PutCursor(ctx context.Context, c syncer.Cursor) error {
	if c.Mapping == mapping.Customer && c.Side == syncer.SideERP {
		n, err := w.CountCouplings(ctx, mapping.Customer)
		if err != nil {
			return err
		}
		w.mu.Lock()
		w.coupled = append(w.coupled, n)
		w.mu.Unlock()
	}
	return w.Store.PutCursor(ctx, c)
}

// TestFlowCheckpointsAfterItsOutcomes: a page's checkpoint comes after the
// outcomes of its batches are committed, though they wait to be committed
// together: when the ERP cursor passes a page, its records are coupled.
func TestFlowCheckpointsAfterItsOutcomes(t *testing.T) {
	t.Parallel()
	e := setupSixCustomers(t)
	w := &cursorWatch{Store: e.st}
	jobs, err := batchByBatch(t, e, w, 2).Run(context.Background(), []string{mapping.Customer}, syncer.RunOptions{Full: true})
	require.NoError(t, err)
	require.Equal(t, "succeeded", jobs[0].Status, jobs[0].Message)
	require.Len(t, w.coupled, 2, "a checkpoint per page of four")
	for i, n := range w.coupled {
		require.GreaterOrEqual(t, n, 4*(i+1), "couplings when the cursor passed page %d: %v", i+1, w.coupled)
	}
}

// batchByBatch is an engine over e's sides and st that writes batches of
// one record, concurrency of them in flight.
func batchByBatch(t *testing.T, e *env, st syncer.Store, concurrency int) *syncer.Engine {
	t.Helper()
	eng, err := syncer.New(syncer.Options{
		Store: st, CRM: e.crm, ERP: e.erp, Clock: e.clock.Now, BatchSize: 1, Concurrency: concurrency, Overlap: 500 * time.Millisecond,
		Logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
		Mappings: func(context.Context) ([]mapping.TableMapping, error) { return e.ms, nil },
	})
	require.NoError(t, err)
	return eng
}

// setupSixCustomers is an engine whose lookup mappings have run and whose
// ERP holds six uncoupled customers, read four a page.
func setupSixCustomers(t *testing.T) *env {
	t.Helper()
	e := setup(t, nil)
	e.run(t, true, mapping.Salespeople, mapping.Currency, mapping.PaymentTerms, mapping.ShipmentMethod)
	for i := range 6 {
		e.erp.put("customers", fmt.Sprintf("c-b%d", i), customer(fmt.Sprintf("B%d", i), fmt.Sprintf("Bulk %d", i), "JO", "pt-1"))
	}
	e.erp.pageSize = 4
	return e
}
