package dataverse

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/coupler/coupler/internal/sandbox/dataverse"
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
// limiter is not used: one request per 1,000 seconds would stall the calls.
func TestSimPacerTakesEveryTurn(t *testing.T) {
	t.Parallel()
	p := &countingPacer{}
	f := setup(t, func(_ *dataverse.Options, c *Config) {
		c.Pacer = p
		c.RequestsPerSecond, c.Burst = 0.001, 1
	})
	require.Same(t, p, f.c.Pacer())
	for range 5 {
		_, err := f.c.WhoAmI(t.Context())
		require.NoError(t, err)
	}
	require.Equal(t, int64(5), p.turns.Load())
	require.Equal(t, int64(5), f.c.Stats().Count(http.MethodGet, http.StatusOK))
}

// A turn the pacer refuses (the shared bucket's database is unreachable, or
// the wait would outlast the caller) fails the call without sending it.
func TestSimPacerRefusalFailsTheCall(t *testing.T) {
	t.Parallel()
	refused := errors.New("no turn")
	p := &countingPacer{err: refused}
	f := setup(t, func(_ *dataverse.Options, c *Config) { c.Pacer = p })
	_, err := f.c.WhoAmI(t.Context())
	require.ErrorIs(t, err, refused)
	require.Equal(t, int64(1), p.turns.Load(), "not retried")
	require.Zero(t, f.c.Stats().Count(http.MethodGet, http.StatusOK))
}

// Without a Pacer the client keeps its own limiter.
func TestNoPacerKeepsInProcessLimiter(t *testing.T) {
	t.Parallel()
	c, err := New(t.Context(), Config{URL: "http://127.0.0.1:1", TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "t"})})
	require.NoError(t, err)
	require.Nil(t, c.Pacer())
	require.NotNil(t, c.limiter)
}
