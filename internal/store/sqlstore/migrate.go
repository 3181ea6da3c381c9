package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"log/slog"
	"path"
	"regexp"
	"sort"
	"strconv"

	"github.com/coupler/coupler/internal/store"
)

// Migration is one embedded NNN_name.up.sql file.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

var migrationFile = regexp.MustCompile(`^(\d{3})_([a-z0-9_]+)\.up\.sql$`)

// LoadMigrations reads dir of fsys, in version order. Versions must start
// at 1 and have no gap, so that "version N" always means the same schema.
func LoadMigrations(fsys fs.FS, dir string) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	var ms []Migration
	for _, e := range entries {
		m := migrationFile.FindStringSubmatch(e.Name())
		if m == nil {
			return nil, fmt.Errorf("migration file %q: name must be NNN_name.up.sql", e.Name())
		}
		b, err := fs.ReadFile(fsys, path.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", e.Name(), err)
		}
		v, _ := strconv.Atoi(m[1])
		ms = append(ms, Migration{Version: v, Name: m[1] + "_" + m[2], SQL: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Version < ms[j].Version })
	for i, m := range ms {
		if m.Version != i+1 {
			return nil, fmt.Errorf("migration %s: expected version %d (versions start at 1 without gaps)", m.Name, i+1)
		}
	}
	return ms, nil
}

// Migrate applies the migrations newer than the recorded version, each in
// its own transaction together with its row in coupler_migrations. lock, when
// not empty, is run first in each transaction so that instances starting
// together apply each migration once (PostgreSQL advisory lock; SQLite's
// BEGIN IMMEDIATE already serialises writers).
func Migrate(ctx context.Context, db *sql.DB, lock string, ms []Migration, log *slog.Logger) (store.MigrationResult, error) {
	const create = `CREATE TABLE IF NOT EXISTS coupler_migrations (
		version INTEGER PRIMARY KEY,
		name TEXT NOT NULL,
		applied_at TEXT NOT NULL
	)`
	// Under the lock too: PostgreSQL's CREATE TABLE IF NOT EXISTS is not
	// safe against another instance doing the same at the same moment.
	if err := inTx(ctx, db, func(tx *sql.Tx) error {
		if lock != "" {
			if _, err := tx.ExecContext(ctx, lock); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, create)
		return err
	}); err != nil {
		return store.MigrationResult{}, fmt.Errorf("create coupler_migrations: %w", err)
	}
	known := len(ms)
	from, err := version(ctx, db)
	if err != nil {
		return store.MigrationResult{}, err
	}
	res := store.MigrationResult{From: from, To: from}
	if from > known {
		return res, fmt.Errorf("the database was migrated by a newer coupler (schema version %d, this binary knows %d): upgrade coupler or restore a backup: %w", from, known, store.ErrSchemaTooNew)
	}
	for _, m := range ms[from:] {
		applied, err := apply(ctx, db, lock, m)
		if err != nil {
			return res, err
		}
		if applied {
			res.Applied = append(res.Applied, m.Name)
			log.Info("store: migration applied", "version", m.Version, "name", m.Name)
		}
		res.To = m.Version
	}
	if len(res.Applied) == 0 {
		log.Info("store: schema up to date, nothing migrated", "version", res.To)
	}
	return res, nil
}

func version(ctx context.Context, q querier) (int, error) {
	var v sql.NullInt64
	if err := q.QueryRowContext(ctx, `SELECT MAX(version) FROM coupler_migrations`).Scan(&v); err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	return int(v.Int64), nil
}

func apply(ctx context.Context, db *sql.DB, lock string, m Migration) (bool, error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("migration %s: begin: %w", m.Name, err)
	}
	defer tx.Rollback() //nolint:errcheck // no-op after commit
	if lock != "" {
		if _, err := tx.ExecContext(ctx, lock); err != nil {
			return false, fmt.Errorf("migration %s: lock: %w", m.Name, err)
		}
	}
	// Another instance may have applied it while we waited for the lock.
	v, err := version(ctx, tx)
	if err != nil {
		return false, err
	}
	if v >= m.Version {
		return false, nil
	}
	if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
		return false, fmt.Errorf("migration %s: %w", m.Name, err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO coupler_migrations (version, name, applied_at) VALUES ($1, $2, $3)`,
		m.Version, m.Name, now().Format("2006-01-02T15:04:05.000000Z07:00")); err != nil {
		return false, fmt.Errorf("migration %s: record: %w", m.Name, err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("migration %s: commit: %w", m.Name, err)
	}
	return true, nil
}

func inTx(ctx context.Context, db *sql.DB, fn func(tx *sql.Tx) error) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}
