package orders

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/coupler/coupler/internal/bc"
	"github.com/coupler/coupler/internal/dataverse"
	"github.com/coupler/coupler/internal/ratelimit"
	"github.com/coupler/coupler/internal/setup"
	"github.com/coupler/coupler/internal/store"
)

// ErrDisabled is returned by a Dialer when there is no enabled connection:
// scheduled jobs then do nothing and succeed.
var ErrDisabled = errors.New("the connection is disabled")

// Conn is the enabled connection with its clients.
type Conn struct {
	Setup setup.ConnectionSetup
	CRM   *dataverse.Client
	ERP   *bc.Client
}

// Dialer builds the clients of the stored connection, again only when the
// setup changed.
type Dialer struct {
	st      store.Store
	secrets setup.Secrets
	log     *slog.Logger

	mu      sync.Mutex
	version time.Time
	conn    Conn
}

// NewDialer dials the connection named setup.DefaultName.
func NewDialer(st store.Store, secrets setup.Secrets, log *slog.Logger) *Dialer {
	return &Dialer{st: st, secrets: secrets, log: log}
}

// Dial returns the clients, or ErrDisabled.
func (d *Dialer) Dial(ctx context.Context) (Conn, error) {
	c, err := d.st.GetConnection(ctx, setup.DefaultName)
	if errors.Is(err, store.ErrNotFound) {
		return Conn{}, fmt.Errorf("no connection is set up: %w", ErrDisabled)
	}
	if err != nil {
		return Conn{}, fmt.Errorf("orders: read the connection: %w", err)
	}
	if !c.Enabled {
		return Conn{}, ErrDisabled
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.conn.CRM != nil && d.version.Equal(c.UpdatedAt) {
		return d.conn, nil
	}
	// The request budgets are shared with the other instances on
	// PostgreSQL (nil on SQLite: each client keeps its own).
	pacers, err := ratelimit.ClientPacers(d.st, d.log, ratelimit.ClientBudget())
	if err != nil {
		return Conn{}, fmt.Errorf("orders: %w", err)
	}
	opts := setup.DialOptions{Logger: d.log, Pacers: pacers}
	crm, err := setup.DialCRM(ctx, c, d.secrets, opts)
	if err != nil {
		return Conn{}, err
	}
	erp, err := setup.DialERP(ctx, c, d.secrets, opts)
	if err != nil {
		return Conn{}, err
	}
	d.conn, d.version = Conn{Setup: c, CRM: crm, ERP: erp}, c.UpdatedAt
	return d.conn, nil
}
