// Package sqlite is the embedded single-instance store: one coupler.db file
// in the data dir, in WAL mode. Writes go through one connection (which
// River shares, as its SQLite driver recommends) so they never fail with
// SQLITE_BUSY; reads use a separate pool and run alongside them.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/coupler/coupler/internal/store"
	"github.com/coupler/coupler/internal/store/sqlstore"
)

// FileName is the database file in the data dir.
const FileName = "coupler.db"

//go:embed migration/*.sql
var migrations embed.FS

func init() {
	store.RegisterDialect("sqlite", func(ctx context.Context, opts store.Options) (store.Store, error) {
		return Open(ctx, opts.DataDir, opts.Logger)
	})
}

// Store is the SQLite store.
type Store struct {
	*sqlstore.Store
	path     string
	migrated store.MigrationResult
}

// Dialect is SQLite's part of the shared implementation.
var Dialect = sqlstore.Dialect{
	Name:         "sqlite",
	SingleWriter: true,
	IsUniqueViolation: func(err error) bool {
		return code(err) == sqlite3.SQLITE_CONSTRAINT_UNIQUE || code(err) == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	},
	IsForeignKeyViolation: func(err error) bool { return code(err) == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY },
}

func code(err error) int {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code()
	}
	return 0
}

// Open opens (creating, mode 0600) dataDir/coupler.db and migrates it.
func Open(ctx context.Context, dataDir string, log *slog.Logger) (*Store, error) {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("store: create data dir %s: %w", dataDir, err)
	}
	path := filepath.Join(dataDir, FileName)
	// Create the file ourselves so that it is private from the start.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	_ = f.Close()
	if err := enterWAL(ctx, path); err != nil {
		return nil, fmt.Errorf("store: %s: %w", path, err)
	}

	write, err := sql.Open("sqlite", dsn(path, false))
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxLifetime(0)
	write.SetConnMaxIdleTime(0)
	read, err := sql.Open("sqlite", dsn(path, true))
	if err != nil {
		_ = write.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	n := max(4, runtime.GOMAXPROCS(0))
	read.SetMaxOpenConns(n)
	read.SetMaxIdleConns(n)

	s := &Store{Store: sqlstore.New(Dialect, read, write, log), path: path}
	ms, err := sqlstore.LoadMigrations(migrations, "migration")
	if err != nil {
		_ = s.Close()
		return nil, err
	}
	s.migrated, err = sqlstore.Migrate(ctx, write, "", ms, log.With("db", path))
	if err != nil {
		_ = s.Close()
		return nil, fmt.Errorf("store: %s: %w", path, err)
	}
	if err := s.PrepareBulk(ctx); err != nil {
		_ = s.Close()
		return nil, fmt.Errorf("store: %s: %w", path, err)
	}
	return s, nil
}

// enterWAL puts the database file in WAL mode, which it then keeps.
// Switching a file to WAL takes an exclusive lock for which SQLite does
// not wait (busy_timeout does not apply): processes opening a new data
// dir at the same moment failed with SQLITE_BUSY in their connections'
// journal_mode pragma. Once the file is in WAL mode that pragma takes no
// lock, so the switch is made here, once, retried while another opener
// holds the lock, for as long as busy_timeout would have waited.
func enterWAL(ctx context.Context, path string) error {
	db, err := sql.Open("sqlite", "file:"+path+"?"+url.Values{"_pragma": {"busy_timeout(10000)"}}.Encode())
	if err != nil {
		return err
	}
	defer db.Close()
	deadline := time.Now().Add(10 * time.Second)
	for wait := time.Millisecond; ; wait = min(2*wait, 100*time.Millisecond) {
		var mode string
		err := db.QueryRowContext(ctx, "PRAGMA journal_mode=WAL").Scan(&mode)
		switch {
		case err == nil && mode == "wal":
			return nil
		case err == nil:
			return fmt.Errorf("switch to WAL mode: SQLite kept journal mode %q", mode)
		case code(err)&0xff != sqlite3.SQLITE_BUSY || time.Now().After(deadline):
			return fmt.Errorf("switch to WAL mode: %w", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
}

// dsn turns on WAL, a busy timeout, foreign keys, BEGIN IMMEDIATE (so a
// transaction takes the write lock up front instead of failing when it
// upgrades) and a sortable time format.
func dsn(path string, readOnly bool) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(FULL)")
	if readOnly {
		q.Add("_pragma", "query_only(1)")
	} else {
		// The one writer: a $batch's couplings (1,000 random ids in two
		// unique indexes) dirty some 2,000 pages, four times SQLite's
		// default cache, which then spilled them to the WAL mid-transaction
		// and read them back. (temp_store(MEMORY) for the upsert's
		// statement journal was tried: modernc's malloc made it slower
		// than the temporary file.)
		q.Add("_pragma", "cache_size(-16384)")
		// A chunk's commit appends some 2,000 pages to the WAL, twice
		// SQLite's default checkpoint threshold: every commit then also
		// copied them into the database file, and the index pages every
		// chunk touches were copied again each time. Checkpointing every
		// 64 MB copies such a page once per checkpoint (BenchmarkChunkOutcome:
		// 148 → 100 ms per chunk); the WAL file is cut back to 64 MB after.
		q.Add("_pragma", "wal_autocheckpoint(16384)")
		q.Add("_pragma", "journal_size_limit(67108864)")
	}
	q.Set("_txlock", "immediate")
	q.Set("_time_format", "sqlite")
	return "file:" + path + "?" + q.Encode()
}

// Path is the database file.
func (s *Store) Path() string { return s.path }

// Migrated is what Open did to the schema.
func (s *Store) Migrated() store.MigrationResult { return s.migrated }
