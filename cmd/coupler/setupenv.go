package main

import (
	"context"
	"fmt"

	"github.com/coupler/coupler/internal/ratelimit"
	"github.com/coupler/coupler/internal/secret"
	"github.com/coupler/coupler/internal/setup"
	"github.com/coupler/coupler/internal/store"
	_ "github.com/coupler/coupler/internal/store/postgres" // --database-url postgres://…
	_ "github.com/coupler/coupler/internal/store/sqlite"   // the embedded default database
)

// setupEnv is what the setup, connection and encryption commands share:
// the store, the secret box and the connection service.
type setupEnv struct {
	st  store.Store
	box *secret.Box
	svc *setup.Service
}

func openSetupEnv(ctx context.Context, g *globals) (*setupEnv, error) {
	st, err := openStore(ctx, g)
	if err != nil {
		return nil, err
	}
	box, err := secret.New(secret.Options{Store: st, DataDir: g.cfg.DataDir, Logger: g.log})
	if err != nil {
		st.Close()
		return nil, err
	}
	// The request budgets are shared with running instances on PostgreSQL.
	pacers, err := ratelimit.ClientPacers(st, g.log, ratelimit.ClientBudget())
	if err != nil {
		st.Close()
		return nil, err
	}
	svc := &setup.Service{Conns: st, Secrets: box, NotFound: store.ErrNotFound, Log: g.log,
		Options: setup.DialOptions{Logger: g.log, Interactive: true, Pacers: pacers}}
	return &setupEnv{st: st, box: box, svc: svc}, nil
}

func (e *setupEnv) Close() error { return e.st.Close() }

// openStore opens the database the global flags and configuration name.
func openStore(ctx context.Context, g *globals) (store.Store, error) {
	st, err := store.Open(ctx, store.Options{DataDir: g.cfg.DataDir, DatabaseURL: g.cfg.DatabaseURL, Logger: g.log})
	if err != nil {
		return nil, fmt.Errorf("open the database: %w", err)
	}
	return st, nil
}
