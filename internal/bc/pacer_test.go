package bc_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/coupler/coupler/internal/bc"
)

// countingPacer lets every turn through and counts them; err, when set,
// refuses them instead.
type countingPacer struct {
	turns atomic.Int64
	err   error
}

func (p *countingPacer) Wait(ctx context.Context) error {
	p.turns.Add(1)
	if p.err != nil {
		return p.err
	}
	return ctx.Err()
}

// With a Pacer, every request takes its turn there and the in-process
// budget is not used: one request per hour would stall the calls.
func TestPacerTakesEveryTurn(t *testing.T) {
	t.Parallel()
	p := &countingPacer{}
	b := setup(t, setupOpt{cfg: func(c *bc.Config) { c.Pacer, c.RequestsPerWindow, c.Window = p, 1, time.Hour }})
	require.Same(t, p, b.client.Pacer())
	id := mustCustomerID(t, b, "10000")
	for range 4 {
		_, err := b.client.Get(t.Context(), bc.SetCustomers, id, bc.Query{})
		require.NoError(t, err)
	}
	require.Equal(t, int64(5), p.turns.Load())
	require.Equal(t, int64(5), b.client.Stats().Requests)
}

// A turn the pacer refuses (the shared bucket's database is unreachable, or
// the wait would outlast the caller) fails the call without sending it.
func TestPacerRefusalFailsTheCall(t *testing.T) {
	t.Parallel()
	refused := errors.New("no turn")
	p := &countingPacer{err: refused}
	b := setup(t, setupOpt{cfg: func(c *bc.Config) { c.Pacer = p }})
	_, err := b.client.ListCompanies(t.Context())
	require.ErrorIs(t, err, refused)
	require.Equal(t, int64(1), p.turns.Load(), "not retried")
	require.Zero(t, b.client.Stats().Requests)
}

// Without a Pacer the client keeps its own budget.
func TestNoPacer(t *testing.T) {
	t.Parallel()
	b := setup(t)
	require.Nil(t, b.client.Pacer())
}
