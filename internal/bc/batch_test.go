package bc_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/coupler/coupler/internal/bc"
	"github.com/coupler/coupler/internal/sandbox/faults"
	"github.com/stretchr/testify/require"
)

func TestBatchPartialFailure(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := t.Context()
	c := b.client
	adatum := mustCustomer(t, b, "10000")

	res, err := c.Batch(ctx, []bc.BatchOp{
		bc.CreateOp(bc.SetCustomers, map[string]any{"displayName": "Batch One"}),
		bc.CreateOp(bc.SetCustomers, map[string]any{"email": "nobody@example.com"}), // no displayName
		bc.UpdateOp(bc.SetCustomers, adatum.ID, adatum.ETag, map[string]any{"phoneNumber": "555-0300"}),
		bc.UpdateOp(bc.SetCustomers, adatum.ID, adatum.ETag, map[string]any{"phoneNumber": "555-0301"}), // stale now
		bc.DeleteOp(bc.SetCustomers, "00000000-0000-4000-8000-00000000dead", ""),
	}, bc.BatchOptions{})
	require.NoError(t, err)
	require.Len(t, res, 5)

	require.Equal(t, http.StatusCreated, res[0].Status)
	require.NoError(t, res[0].Err)
	require.NotEmpty(t, res[0].ETag)
	require.True(t, bc.ValidGUID(bc.ID(res[0].Body)))

	require.Equal(t, http.StatusBadRequest, res[1].Status)
	require.ErrorIs(t, res[1].Err, bc.ErrBadRequest)
	require.ErrorContains(t, res[1].Err, "displayName")

	require.Equal(t, http.StatusOK, res[2].Status)
	require.NoError(t, res[2].Err)
	require.ErrorIs(t, res[3].Err, bc.ErrEntityChanged)
	require.ErrorIs(t, res[4].Err, bc.ErrNotFound)

	// The successful operations were kept.
	got := mustCustomer(t, b, "10000")
	require.Equal(t, "555-0300", got.PhoneNumber)
	require.Equal(t, res[2].ETag, got.ETag)
	require.Equal(t, int64(5), c.Stats().BatchOperations)
}

func TestBatchAtomicRollsBack(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := t.Context()
	c := b.client
	res, err := c.Batch(ctx, []bc.BatchOp{
		bc.CreateOp(bc.SetCustomers, map[string]any{"displayName": "Atomic One"}),
		bc.CreateOp(bc.SetCustomers, map[string]any{"email": "nobody@example.com"}),
		bc.CreateOp(bc.SetCustomers, map[string]any{"displayName": "Atomic Three"}),
	}, bc.BatchOptions{Atomic: true})
	require.NoError(t, err)
	require.ErrorIs(t, res[0].Err, bc.ErrRolledBack)
	require.ErrorIs(t, res[1].Err, bc.ErrBadRequest)
	require.NotErrorIs(t, res[1].Err, bc.ErrRolledBack, "the failing operation keeps its own error")
	require.ErrorIs(t, res[2].Err, bc.ErrRolledBack)
	n := 0
	require.NoError(t, bc.ListAs(ctx, c, bc.SetCustomers, bc.Query{Filter: "startswith(displayName,'Atomic')"}, func(p []bc.Customer) error { n += len(p); return nil }))
	require.Zero(t, n, "nothing of the failed atomic batch was kept")

	ok, err := c.Batch(ctx, []bc.BatchOp{
		bc.CreateOp(bc.SetCustomers, map[string]any{"displayName": "Atomic Four"}),
		bc.CreateOp(bc.SetCustomers, map[string]any{"displayName": "Atomic Five"}),
	}, bc.BatchOptions{Atomic: true})
	require.NoError(t, err)
	for _, r := range ok {
		require.NoError(t, r.Err)
	}
}

func TestBatchSplitsAtHundred(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := t.Context()
	c := b.client
	ops := make([]bc.BatchOp, 150)
	for i := range ops {
		ops[i] = bc.CreateOp(bc.SetCustomers, map[string]any{"displayName": fmt.Sprintf("Split %03d", i)})
	}
	before := c.Stats().Requests
	res, err := c.Batch(ctx, ops, bc.BatchOptions{})
	require.NoError(t, err)
	require.Len(t, res, 150)
	for i, r := range res {
		require.NoError(t, r.Err, "operation %d", i)
		require.Contains(t, string(r.Body), fmt.Sprintf("Split %03d", i), "results stay in operation order")
	}
	require.Equal(t, int64(2), c.Stats().Requests-before, "150 operations go in two $batch requests")

	_, err = c.Batch(ctx, ops, bc.BatchOptions{Atomic: true})
	require.ErrorContains(t, err, "atomicity cannot span two")

	_, err = c.Batch(ctx, []bc.BatchOp{{Method: "PUT", Path: bc.SetCustomers}}, bc.BatchOptions{})
	require.ErrorContains(t, err, `method "PUT"`)
	_, err = c.Batch(ctx, []bc.BatchOp{{Method: "PATCH", Path: "customers(" + res[0].ETag + ")"}}, bc.BatchOptions{})
	require.Error(t, err)
}

func mustCustomer(t *testing.T, b *testBundle, number string) bc.Customer {
	t.Helper()
	var out bc.Customer
	err := bc.ListAs(t.Context(), b.client, bc.SetCustomers, bc.Query{Filter: "number eq '" + number + "'"}, func(p []bc.Customer) error {
		require.Len(t, p, 1)
		out = p[0]
		return nil
	})
	require.NoError(t, err)
	return out
}

// A $batch that gets no answer reports it on every one of its operations.
func TestBatchUnansweredChunk(t *testing.T) {
	t.Parallel()
	b := setup(t,
		withFaults(faults.Spec{Throttle: 1, RetryAfter: time.Second, Seed: 2}),
		setupOpt{cfg: func(c *bc.Config) {
			c.MaxRetries = -1
			c.Sleep = func(context.Context, time.Duration) error { return nil }
		}})
	ops := make([]bc.BatchOp, 120)
	for i := range ops {
		ops[i] = bc.CreateOp(bc.SetCustomers, map[string]any{"displayName": fmt.Sprintf("Unanswered %d", i)})
	}
	res, err := b.client.Batch(t.Context(), ops, bc.BatchOptions{})
	require.ErrorIs(t, err, bc.ErrThrottled)
	require.ErrorContains(t, err, "operations 0-99")
	require.ErrorContains(t, err, "operations 100-119")
	require.Len(t, res, 120)
	for i, r := range res {
		require.Zero(t, r.Status, "operation %d", i)
		require.ErrorIs(t, r.Err, bc.ErrThrottled, "operation %d", i)
	}
}
