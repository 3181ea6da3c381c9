package daemon

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/coupler/coupler/internal/store"
)

// queueDepthSQL counts River jobs waiting to run (the same table on both
// databases).
const queueDepthSQL = `SELECT count(*) FROM river_job WHERE state IN ('available', 'scheduled', 'retryable')`

// queueDepth reads the number of waiting jobs from River's own table, for
// /metrics.
func queueDepth(st store.Store) func(ctx context.Context) (int, error) {
	return func(ctx context.Context) (int, error) {
		var n int
		var err error
		switch s := st.(type) {
		case interface{ Pool() *pgxpool.Pool }:
			err = s.Pool().QueryRow(ctx, queueDepthSQL).Scan(&n)
		case interface{ SQLDB() *sql.DB }:
			err = s.SQLDB().QueryRowContext(ctx, queueDepthSQL).Scan(&n)
		default:
			err = errors.New("the store exposes no database handle")
		}
		if err != nil {
			return 0, fmt.Errorf("count waiting jobs: %w", err)
		}
		return n, nil
	}
}
