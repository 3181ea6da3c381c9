package orders_test

import (
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/coupler/coupler/internal/jobs"
	"github.com/coupler/coupler/internal/orders"
)

func TestRegister(t *testing.T) {
	t.Parallel()
	e := setup(t)
	d := orders.NewDialer(e.st, nil, slog.New(slog.DiscardHandler))
	reg := jobs.NewRegistry()
	require.NoError(t, orders.Register(reg, d.Dial, e.st, e.log))
	require.Error(t, orders.Register(reg, d.Dial, e.st, e.log), "registering twice is refused")
	require.Error(t, orders.Register(jobs.NewRegistry(), nil, e.st, e.log))
	_, err := d.Dial(t.Context())
	require.ErrorIs(t, err, orders.ErrDisabled, "no connection set up")
}
