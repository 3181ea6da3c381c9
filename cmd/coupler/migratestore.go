package main

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/coupler/coupler/internal/store"
	_ "github.com/coupler/coupler/internal/store/postgres" // --to postgres://…
	"github.com/coupler/coupler/internal/store/sqlite"
)

func init() {
	register(func(g *globals) *cobra.Command {
		var from, to string
		var force bool
		cmd := &cobra.Command{
			Use:   "migrate-store --from sqlite:PATH|postgres://… --to postgres://…|sqlite:PATH [--force]",
			Short: "Copy every table of coupler's database to another database (SQLite to PostgreSQL to scale out, or back)",
			Long: "Stop every coupler instance first. Both databases are migrated to this coupler's schema, then every\n" +
				"table is copied in one transaction with its row ids (encrypted secrets stay readable with the same key)\n" +
				"and the row counts are compared. sqlite:PATH is a data dir (or its coupler.db). A destination that\n" +
				"already holds data is refused unless --force, which replaces it. Not copied: River's job queue (queued\n" +
				"jobs are lost; the schedules start them again) and the rate limiter's buckets. Copy the data dir's\n" +
				"encryption.key (or set COUPLER_ENCRYPTION_KEY) for every instance of the new database.",
			Args: cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				res, err := migrateStore(cmd.Context(), from, to, force, g.log)
				if err != nil {
					return err
				}
				out := cmd.OutOrStdout()
				for _, tc := range res {
					fmt.Fprintf(out, "%-14s %8d rows\n", tc.Table, tc.Rows)
				}
				fmt.Fprintf(out, "Copied %d tables; row counts verified equal. Start coupler on the new database with the same encryption key.\n", len(res))
				return nil
			},
		}
		cmd.Flags().StringVar(&from, "from", "", "source database: sqlite:DATA_DIR or postgres://…")
		cmd.Flags().StringVar(&to, "to", "", "destination database: postgres://… or sqlite:DATA_DIR")
		cmd.Flags().BoolVar(&force, "force", false, "replace the data of a destination that is not empty")
		return cmd
	})
}

// tableCount is the verified row count of one copied table.
type tableCount struct {
	Table string
	Rows  int64
}

// notCopied are tables that belong to the database, not to coupler's data:
// the migration log, River's queue (migrated by River itself) and the
// transient rate limiter buckets.
func notCopied(table string) bool {
	return table == "coupler_migrations" || table == "rate_buckets" ||
		strings.HasPrefix(table, "river_") || strings.HasPrefix(table, "sqlite_")
}

// storeOptions reads a --from/--to value.
func storeOptions(flag, v string, log *slog.Logger) (store.Options, string, error) {
	switch {
	case v == "":
		return store.Options{}, "", fmt.Errorf("--%s is empty: give sqlite:DATA_DIR or postgres://user@host:5432/db", flag)
	case strings.HasPrefix(v, "sqlite:"):
		p := strings.TrimPrefix(strings.TrimPrefix(v, "sqlite:"), "//")
		if p == "" {
			return store.Options{}, "", fmt.Errorf("--%s %q: the path after sqlite: is empty: give the data dir, e.g. sqlite:/var/lib/coupler", flag, v)
		}
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			if filepath.Base(p) != sqlite.FileName {
				return store.Options{}, "", fmt.Errorf("--%s %q: %s is a file but not %s: give the data dir that holds %s", flag, v, p, sqlite.FileName, sqlite.FileName)
			}
			p = filepath.Dir(p)
		}
		abs, err := filepath.Abs(p)
		if err != nil {
			return store.Options{}, "", fmt.Errorf("--%s %q: %w", flag, v, err)
		}
		return store.Options{DataDir: abs, Logger: log}, "sqlite:" + abs, nil
	case strings.HasPrefix(v, "postgres://") || strings.HasPrefix(v, "postgresql://"):
		return store.Options{DatabaseURL: v, Logger: log}, v, nil
	}
	return store.Options{}, "", fmt.Errorf("--%s: %q is neither sqlite:DATA_DIR nor a postgres:// URL", flag, redactURL(v))
}

// redactURL keeps a password out of error messages.
func redactURL(v string) string {
	if i := strings.Index(v, "@"); i >= 0 {
		if j := strings.Index(v, "://"); j >= 0 && j < i {
			return v[:j+3] + "…" + v[i:]
		}
	}
	return v
}

// migrateStore copies every coupler table of from into to and verifies the
// row counts.
func migrateStore(ctx context.Context, from, to string, force bool, log *slog.Logger) ([]tableCount, error) {
	fromOpts, fromName, err := storeOptions("from", from, log)
	if err != nil {
		return nil, err
	}
	toOpts, toName, err := storeOptions("to", to, log)
	if err != nil {
		return nil, err
	}
	if fromName == toName {
		return nil, fmt.Errorf("--from and --to name the same database (%s): nothing to copy", redactURL(fromName))
	}
	src, err := store.Open(ctx, fromOpts)
	if err != nil {
		return nil, fmt.Errorf("open the source (--from): %w", err)
	}
	defer src.Close()
	dst, err := store.Open(ctx, toOpts)
	if err != nil {
		return nil, fmt.Errorf("open the destination (--to): %w", err)
	}
	defer dst.Close()
	sdb, err := rawDB(src)
	if err != nil {
		return nil, err
	}
	ddb, err := rawDB(dst)
	if err != nil {
		return nil, err
	}
	sTables, err := tables(ctx, sdb, src.Dialect())
	if err != nil {
		return nil, fmt.Errorf("source: %w", err)
	}
	dTables, err := tables(ctx, ddb, dst.Dialect())
	if err != nil {
		return nil, fmt.Errorf("destination: %w", err)
	}
	if !slices.Equal(sTables, dTables) {
		return nil, fmt.Errorf("the two databases have different tables (source %v, destination %v) although both are at this coupler's schema version: was one of them changed by hand?", sTables, dTables)
	}
	order, err := fkOrder(ctx, ddb, dst.Dialect(), dTables)
	if err != nil {
		return nil, err
	}

	start := time.Now()
	err = inTx(ctx, ddb, func(tx *sql.Tx) error {
		for _, t := range order {
			var nonEmpty bool
			if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM `+t+`)`).Scan(&nonEmpty); err != nil {
				return fmt.Errorf("destination table %s: %w", t, err)
			}
			if nonEmpty && !force {
				return fmt.Errorf("the destination already holds data (table %s is not empty): give an empty database, or --force to replace its data", t)
			}
		}
		if force {
			for _, t := range slices.Backward(order) {
				if _, err := tx.ExecContext(ctx, `DELETE FROM `+t); err != nil {
					return fmt.Errorf("--force: empty destination table %s: %w", t, err)
				}
			}
		}
		for _, t := range order {
			n, err := copyTable(ctx, sdb, src.Dialect(), tx, dst.Dialect(), t)
			if err != nil {
				return err
			}
			log.Info("migrate-store: table copied", "table", t, "rows", n)
		}
		if dst.Dialect() == "postgres" {
			return resetIdentities(ctx, tx, order)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var res []tableCount
	for _, t := range order {
		var a, b int64
		if err := sdb.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+t).Scan(&a); err != nil {
			return nil, fmt.Errorf("count source table %s: %w", t, err)
		}
		if err := ddb.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+t).Scan(&b); err != nil {
			return nil, fmt.Errorf("count destination table %s: %w", t, err)
		}
		if a != b {
			return nil, fmt.Errorf("table %s: %d rows in the source but %d in the destination: was coupler still running on the source? Stop it and run again with --force", t, a, b)
		}
		res = append(res, tableCount{Table: t, Rows: a})
	}
	log.Info("migrate-store: done", "tables", len(res), "elapsed", time.Since(start).Round(time.Millisecond))
	return res, nil
}

func rawDB(st store.Store) (*sql.DB, error) {
	d, ok := st.(interface{ SQLDB() *sql.DB })
	if !ok {
		return nil, fmt.Errorf("the %s store does not expose its database (%T)", st.Dialect(), st)
	}
	return d.SQLDB(), nil
}

func inTx(ctx context.Context, db *sql.DB, fn func(tx *sql.Tx) error) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("destination: begin: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("destination: commit: %w", err)
	}
	return nil
}

func queryStrings(ctx context.Context, db *sql.DB, q string, args ...any) ([]string, error) {
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// tables lists coupler's tables, sorted.
func tables(ctx context.Context, db *sql.DB, dialect string) ([]string, error) {
	q := `SELECT name FROM sqlite_master WHERE type = 'table'`
	if dialect == "postgres" {
		q = `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`
	}
	all, err := queryStrings(ctx, db, q)
	if err != nil {
		return nil, fmt.Errorf("list tables: %w", err)
	}
	out := slices.DeleteFunc(all, notCopied)
	slices.Sort(out)
	return out, nil
}

// fkOrder puts every table after the tables its foreign keys reference.
func fkOrder(ctx context.Context, db *sql.DB, dialect string, ts []string) ([]string, error) {
	deps := map[string][]string{}
	for _, t := range ts {
		q := `SELECT "table" FROM pragma_foreign_key_list($1)`
		if dialect == "postgres" {
			q = `SELECT ccu.table_name FROM information_schema.table_constraints tc
				JOIN information_schema.constraint_column_usage ccu
				  ON tc.constraint_name = ccu.constraint_name AND tc.table_schema = ccu.table_schema
				WHERE tc.constraint_type = 'FOREIGN KEY' AND tc.table_schema = current_schema() AND tc.table_name = $1`
		}
		refs, err := queryStrings(ctx, db, q, t)
		if err != nil {
			return nil, fmt.Errorf("foreign keys of %s: %w", t, err)
		}
		deps[t] = refs
	}
	var order []string
	state := map[string]int{} // 1 visiting, 2 done
	var visit func(t string) error
	visit = func(t string) error {
		switch state[t] {
		case 1:
			return fmt.Errorf("table %s is part of a foreign key cycle: migrate-store cannot order the copy", t)
		case 2:
			return nil
		}
		state[t] = 1
		for _, d := range deps[t] {
			if d != t && slices.Contains(ts, d) {
				if err := visit(d); err != nil {
					return err
				}
			}
		}
		state[t] = 2
		order = append(order, t)
		return nil
	}
	for _, t := range ts {
		if err := visit(t); err != nil {
			return nil, err
		}
	}
	return order, nil
}

// column is one destination column and its declared type, lower case.
type column struct{ name, typ string }

func columns(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, dialect, table string) ([]column, error) {
	query := `SELECT name, lower(type) FROM pragma_table_info($1) ORDER BY cid`
	if dialect == "postgres" {
		query = `SELECT column_name, data_type FROM information_schema.columns
			WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position`
	}
	rows, err := q.QueryContext(ctx, query, table)
	if err != nil {
		return nil, fmt.Errorf("columns of %s: %w", table, err)
	}
	defer rows.Close()
	var out []column
	for rows.Next() {
		var c column
		if err := rows.Scan(&c.name, &c.typ); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// resetIdentities moves each identity column's sequence past the copied
// ids, so that the next insert does not collide with a copied row.
func resetIdentities(ctx context.Context, tx *sql.Tx, ts []string) error {
	for _, t := range ts {
		var has bool
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM information_schema.columns
			WHERE table_schema = current_schema() AND table_name = $1 AND column_name = 'id')`, t).Scan(&has); err != nil {
			return fmt.Errorf("columns of %s: %w", t, err)
		}
		if !has {
			continue
		}
		var seq sql.NullString
		if err := tx.QueryRowContext(ctx, `SELECT pg_get_serial_sequence($1, 'id')`, t).Scan(&seq); err != nil {
			return fmt.Errorf("identity of %s: %w", t, err)
		}
		if !seq.Valid {
			continue
		}
		if _, err := tx.ExecContext(ctx, `SELECT setval($1, COALESCE((SELECT MAX(id) FROM `+t+`), 0) + 1, false)`, seq.String); err != nil {
			return fmt.Errorf("reset the id sequence of %s: %w", t, err)
		}
	}
	return nil
}
