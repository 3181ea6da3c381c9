package syncer_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/coupler/coupler/internal/mapping"
	"github.com/coupler/coupler/internal/syncer"
)

// TestDisableStopsARunningJobAfterItsBatch: when the connection is disabled
// during a run, the batch being written finishes and nothing more is
// written; the next run after re-enabling writes the rest, so nothing is
// lost.
func TestDisableStopsARunningJobAfterItsBatch(t *testing.T) {
	t.Parallel()
	e := setup(t, nil)
	e.run(t, true)
	for _, no := range []string{"10000", "20000"} {
		c := customer(no, "Customer "+no, "JO", "pt-1")
		c["phoneNumber"] = "+44 " + no
		e.erp.put("customers", "c-"+no, c)
	}
	phones := func() (n int) {
		for _, no := range []string{"10000", "20000"} {
			if e.crm.get("accounts", accountID("c-"+no))["telephone1"] == "+44 "+no {
				n++
			}
		}
		return n
	}

	disabled := errors.New("the connection is disabled")
	var asked atomic.Int64
	held, err := syncer.New(syncer.Options{
		Store: e.st, CRM: e.crm, ERP: e.erp, Clock: e.clock.Now, BatchSize: 1, Concurrency: 1,
		Logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
		Mappings: func(context.Context) ([]mapping.TableMapping, error) { return e.ms, nil },
		// Disabled while the first batch is being written.
		Hold: func(context.Context) error {
			if asked.Add(1) > 1 {
				return disabled
			}
			return nil
		},
	})
	require.NoError(t, err)
	jobs, err := held.Run(context.Background(), []string{mapping.Customer}, syncer.RunOptions{})
	if err == nil {
		require.Len(t, jobs, 1)
		require.Equal(t, "failed", jobs[0].Status, "%+v", jobs[0])
		require.Contains(t, jobs[0].Message, "the connection is disabled")
	} else {
		require.ErrorIs(t, err, disabled)
	}
	require.Equal(t, 1, phones(), "the batch in flight finished, the other was not sent")

	again := e.run(t, false, mapping.Customer)
	require.Equal(t, "succeeded", again[mapping.Customer].Status, again[mapping.Customer].Message)
	require.Equal(t, 2, phones(), "re-enabled: the rest arrives, nothing lost")
}
