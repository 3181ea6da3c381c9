// Package backup copies coupler's state — the SQLite database and the
// encryption key that makes its secrets readable — into one archive while
// coupler runs, and restores such an archive into a data dir. The two are
// kept together because a database without its key holds secrets nobody can
// read, and a key without its database is useless.
//
// PostgreSQL is refused: its own tools (pg_dump/pg_restore) do this better
// and consistently across several instances.
package backup

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	_ "modernc.org/sqlite" // the "sqlite" database/sql driver

	"github.com/coupler/coupler/internal/secret"
	sqlitestore "github.com/coupler/coupler/internal/store/sqlite"
)

// Archive member names.
const (
	manifestName = "manifest.json"
	databaseName = sqlitestore.FileName
	keyName      = secret.KeyFileName
	formatV1     = 1
)

// ErrPostgres is returned for a PostgreSQL database: back it up with pg_dump.
var ErrPostgres = errors.New("coupler backup handles the embedded SQLite database only; for PostgreSQL run " +
	"`pg_dump --format=custom \"$DATABASE_URL\" > coupler.dump` (restore: `pg_restore --clean --dbname \"$DATABASE_URL\" coupler.dump`) " +
	"and copy the encryption key file or COUPLER_ENCRYPTION_KEY separately")

// Options say where the state lives.
type Options struct {
	DataDir     string // holds coupler.db and encryption.key
	DatabaseURL string // non-empty = PostgreSQL: refused with ErrPostgres
	Logger      *slog.Logger
	// Getenv reads COUPLER_ENCRYPTION_KEY (to say that the key is not in the
	// archive when it comes from the environment); nil = os.Getenv.
	Getenv func(string) string
}

// Manifest describes an archive.
type Manifest struct {
	Format    int       `json:"format"`
	CreatedAt time.Time `json:"created_at"`
	Database  string    `json:"database"`     // member name of the SQLite file
	DBBytes   int64     `json:"db_bytes"`     // its size
	KeyFile   bool      `json:"key_included"` // encryption.key is in the archive
	KeyNote   string    `json:"key_note,omitempty"`
}

// Result is what Backup or Restore did.
type Result struct {
	Manifest Manifest
	Path     string // the archive written or read
	MovedTo  string // Restore: where the previous database was moved ("" when there was none)
}

func (o *Options) check(what string) error {
	if o.DatabaseURL != "" {
		return fmt.Errorf("%s: %w", what, ErrPostgres)
	}
	if o.DataDir == "" {
		return fmt.Errorf("%s: the data dir is empty: give --data-dir (the directory holding %s)", what, databaseName)
	}
	if o.Logger == nil {
		return errors.New("backup: Options.Logger is nil")
	}
	if o.Getenv == nil {
		o.Getenv = os.Getenv
	}
	return nil
}

// Backup writes a consistent snapshot of the running database (SQLite's
// VACUUM INTO, which reads inside one transaction while writers go on) and
// the key file into the gzip'd tar archive at to. The archive is created
// with mode 0600: it holds the key.
func Backup(ctx context.Context, opts Options, to string) (Result, error) {
	if err := opts.check("backup"); err != nil {
		return Result{}, err
	}
	if to == "" {
		return Result{}, errors.New("backup: no archive file given: use --to FILE")
	}
	dbPath := filepath.Join(opts.DataDir, databaseName)
	if _, err := os.Stat(dbPath); err != nil {
		return Result{}, fmt.Errorf("backup: no database at %s (%v): check --data-dir", dbPath, errors.Unwrap(err))
	}
	tmpDir, err := os.MkdirTemp(filepath.Dir(to), ".coupler-backup-")
	if err != nil {
		return Result{}, fmt.Errorf("backup: cannot write next to %s: %w", to, err)
	}
	defer os.RemoveAll(tmpDir)
	snap := filepath.Join(tmpDir, databaseName)
	if err := vacuumInto(ctx, dbPath, snap); err != nil {
		return Result{}, err
	}
	if err := checkDatabase(ctx, snap); err != nil {
		return Result{}, fmt.Errorf("backup: the snapshot of %s fails its check: %w", dbPath, err)
	}
	fi, err := os.Stat(snap)
	if err != nil {
		return Result{}, fmt.Errorf("backup: %w", err)
	}
	man := Manifest{Format: formatV1, CreatedAt: time.Now().UTC(), Database: databaseName, DBBytes: fi.Size()}
	keyPath := filepath.Join(opts.DataDir, keyName)
	key, err := os.ReadFile(keyPath)
	switch {
	case err == nil:
		man.KeyFile = true
	case errors.Is(err, os.ErrNotExist):
		if opts.Getenv("COUPLER_ENCRYPTION_KEY") != "" {
			man.KeyNote = "the key comes from COUPLER_ENCRYPTION_KEY: keep it with this archive"
		} else {
			man.KeyNote = "no key file: secrets are stored unencrypted or encryption was never enabled"
		}
	default:
		return Result{}, fmt.Errorf("backup: read the key file %s: %w", keyPath, err)
	}

	part := to + ".part"
	f, err := os.OpenFile(part, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return Result{}, fmt.Errorf("backup: create %s: %w", to, err)
	}
	defer os.Remove(part)
	if err := writeArchive(f, man, snap, key); err != nil {
		f.Close()
		return Result{}, fmt.Errorf("backup: write %s: %w", to, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return Result{}, fmt.Errorf("backup: write %s: %w", to, err)
	}
	if err := f.Close(); err != nil {
		return Result{}, fmt.Errorf("backup: write %s: %w", to, err)
	}
	if err := os.Rename(part, to); err != nil {
		return Result{}, fmt.Errorf("backup: %w", err)
	}
	opts.Logger.InfoContext(ctx, "backup written", "archive", to, "db_bytes", man.DBBytes, "key_included", man.KeyFile)
	return Result{Manifest: man, Path: to}, nil
}

func vacuumInto(ctx context.Context, dbPath, dest string) error {
	db, err := sql.Open("sqlite", "file:"+dbPath+"?_pragma=busy_timeout(10000)")
	if err != nil {
		return fmt.Errorf("backup: open %s: %w", dbPath, err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "VACUUM INTO ?", dest); err != nil {
		return fmt.Errorf("backup: snapshot %s: %w", dbPath, err)
	}
	return nil
}

// checkDatabase runs SQLite's integrity check on a database file.
func checkDatabase(ctx context.Context, path string) error {
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		return err
	}
	defer db.Close()
	var res string
	if err := db.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&res); err != nil {
		return fmt.Errorf("not a readable SQLite database (%w)", err)
	}
	if res != "ok" {
		return fmt.Errorf("SQLite integrity check: %s", res)
	}
	return nil
}

func writeArchive(w io.Writer, man Manifest, dbPath string, key []byte) error {
	gz := gzip.NewWriter(w)
	tw := tar.NewWriter(gz)
	mj, err := json.MarshalIndent(man, "", "  ")
	if err != nil {
		return err
	}
	add := func(name string, data []byte) error {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o600, Size: int64(len(data)), ModTime: man.CreatedAt}); err != nil {
			return err
		}
		_, err := tw.Write(data)
		return err
	}
	if err := add(manifestName, mj); err != nil {
		return err
	}
	db, err := os.Open(dbPath)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := tw.WriteHeader(&tar.Header{Name: databaseName, Mode: 0o600, Size: man.DBBytes, ModTime: man.CreatedAt}); err != nil {
		return err
	}
	if _, err := io.Copy(tw, db); err != nil {
		return err
	}
	if man.KeyFile {
		if err := add(keyName, key); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return gz.Close()
}
