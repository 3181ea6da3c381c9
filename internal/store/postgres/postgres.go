// Package postgres is the store several coupler instances share. It opens
// one pgx pool: River uses it directly (riverpgxv5) and the shared SQL
// implementation uses it through pgx's database/sql adapter.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/coupler/coupler/internal/store"
	"github.com/coupler/coupler/internal/store/sqlstore"
)

//go:embed migration/*.sql
var migrations embed.FS

func init() {
	store.RegisterDialect("postgres", func(ctx context.Context, opts store.Options) (store.Store, error) {
		return Open(ctx, opts.DatabaseURL, opts.Logger)
	})
}

// Store is the PostgreSQL store.
type Store struct {
	*sqlstore.Store
	pool     *pgxpool.Pool
	migrated store.MigrationResult
}

// Dialect is PostgreSQL's part of the shared implementation.
var Dialect = sqlstore.Dialect{
	Name:                  "postgres",
	ErrorAbortsTx:         true,
	IsUniqueViolation:     func(err error) bool { return pgCode(err) == "23505" },
	IsForeignKeyViolation: func(err error) bool { return pgCode(err) == "23503" },
}

func pgCode(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

// migrationLock serialises migrations of instances starting together
// (pg_advisory_xact_lock key: "coupler" in ASCII).
const migrationLock = `SELECT pg_advisory_xact_lock(99111117112108101)`

// Open connects to databaseURL (postgres://…; a search_path parameter
// selects a schema) and migrates the database.
func Open(ctx context.Context, databaseURL string, log *slog.Logger) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(databaseURL)
	if err != nil {
		// The error may quote the URL and its password: keep it out.
		return nil, fmt.Errorf("store: database_url is not a valid PostgreSQL URL: use postgres://user:password@host:5432/dbname?sslmode=disable")
	}
	// River keeps connections for LISTEN and its producers; pgx's default
	// of 4 (or the CPU count) would starve the store. pool_max_conns wins.
	if _, set := cfg.ConnConfig.RuntimeParams["pool_max_conns"]; !set && !strings.Contains(databaseURL, "pool_max_conns") {
		cfg.MaxConns = max(cfg.MaxConns, 12)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("store: connect to PostgreSQL at %s: %w", cfg.ConnConfig.Host, err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("store: connect to PostgreSQL at %s:%d database %q: %w", cfg.ConnConfig.Host, cfg.ConnConfig.Port, cfg.ConnConfig.Database, err)
	}
	db := stdlib.OpenDBFromPool(pool)
	s := &Store{
		Store: sqlstore.New(Dialect, db, db, log, func() error { pool.Close(); return nil }),
		pool:  pool,
	}
	ms, err := sqlstore.LoadMigrations(migrations, "migration")
	if err != nil {
		_ = s.Close()
		return nil, err
	}
	s.migrated, err = sqlstore.Migrate(ctx, db, migrationLock, ms, log.With("db", cfg.ConnConfig.Database))
	if err != nil {
		_ = s.Close()
		return nil, fmt.Errorf("store: PostgreSQL database %q: %w", cfg.ConnConfig.Database, err)
	}
	return s, nil
}

// Pool is the pgx pool River runs on.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Migrated is what Open did to the schema.
func (s *Store) Migrated() store.MigrationResult { return s.migrated }
