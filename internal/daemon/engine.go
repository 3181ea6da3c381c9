package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/coupler/coupler/internal/bc"
	"github.com/coupler/coupler/internal/dataverse"
	"github.com/coupler/coupler/internal/mapping"
	"github.com/coupler/coupler/internal/secret"
	"github.com/coupler/coupler/internal/setup"
	"github.com/coupler/coupler/internal/store"
	"github.com/coupler/coupler/internal/syncer"
	"github.com/coupler/coupler/internal/syncer/crmside"
	"github.com/coupler/coupler/internal/syncer/erpside"
	"github.com/coupler/coupler/internal/syncer/syncjobs"
	"github.com/coupler/coupler/internal/syncer/syncstore"
)

// engines builds the synchronisation engine of the enabled connection and
// keeps it while the connection's setup is unchanged, so that the API
// clients (and their request counters, read by /metrics) live across runs.
type engines struct {
	st     store.Store
	box    *secret.Box
	log    *slog.Logger
	pacers setup.Pacers // the shared request budgets; nil on SQLite
	chunks int          // Options.ChunkRecords: 0 on SQLite, where one worker runs every chunk

	mu      sync.Mutex
	version time.Time // UpdatedAt of the setup the engine was built from
	eng     *syncer.Engine
	crm     []*dataverse.Client // every client built, for their counters
	erp     []*bc.Client
}

// get returns the engine, or syncjobs.ErrDisabled when the connection is
// missing or disabled.
func (e *engines) get(ctx context.Context) (*syncer.Engine, error) {
	conn, err := e.st.GetConnection(ctx, setup.DefaultName)
	if err != nil {
		return nil, fmt.Errorf("no connection is set up (%v): %w", err, syncjobs.ErrDisabled)
	}
	if !conn.Enabled {
		return nil, syncjobs.ErrDisabled
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.eng != nil && e.version.Equal(conn.UpdatedAt) {
		return e.eng, nil
	}
	opts := setup.DialOptions{Logger: e.log, Pacers: e.pacers}
	crm, err := setup.DialCRM(ctx, conn, e.box, opts)
	if err != nil {
		return nil, err
	}
	erp, err := setup.DialERP(ctx, conn, e.box, opts)
	if err != nil {
		return nil, err
	}
	eng, err := syncer.New(syncer.Options{
		Store: syncstore.New(e.st), CRM: crmside.New(crm, 0), ERP: erpside.New(erp, 0), Logger: e.log,
		Mappings: e.mappings, Hold: setup.Hold(e.st, conn.Name), ChunkRecords: e.chunks,
	})
	if err != nil {
		return nil, err
	}
	e.eng, e.version = eng, conn.UpdatedAt
	e.crm, e.erp = append(e.crm, crm), append(e.erp, erp)
	return eng, nil
}

// mappings are the stored mappings; an empty store gets the default set
// (as `coupler sync run` does), so a new setup synchronises something.
func (e *engines) mappings(ctx context.Context) ([]mapping.TableMapping, error) {
	ms, err := e.st.ListMappings(ctx)
	if err != nil || len(ms) > 0 {
		return ms, err
	}
	return mapping.Defaults(), nil
}

func (e *engines) crmStats() []dataverse.Stats {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]dataverse.Stats, len(e.crm))
	for i, c := range e.crm {
		out[i] = c.Stats()
	}
	return out
}

func (e *engines) erpStats() []bc.Stats {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]bc.Stats, len(e.erp))
	for i, c := range e.erp {
		out[i] = c.Stats()
	}
	return out
}
