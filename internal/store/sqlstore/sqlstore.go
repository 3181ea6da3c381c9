// Package sqlstore implements store.Store once, over database/sql, for both
// SQLite (modernc.org/sqlite) and PostgreSQL (pgx through its database/sql
// adapter). The SQL is written once with $N placeholders, which both
// databases accept; what differs (bulk upsert, error codes, writer
// concurrency) is described by a Dialect. The sqlite and postgres packages
// open the connections, migrate, and wrap this Store.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/coupler/coupler/internal/store"
)

// Dialect is what differs between the two databases.
type Dialect struct {
	Name string // "sqlite" or "postgres"
	// ErrorAbortsTx: PostgreSQL aborts the whole transaction on any error, so
	// statements that may fail with a conflict run under a savepoint when
	// the Store is inside InTx, leaving the caller's transaction usable.
	ErrorAbortsTx bool
	// SingleWriter: every write goes through one connection (SQLite), so a
	// write on the outer Store from inside InTx would wait for itself
	// forever; it is refused with an error instead.
	SingleWriter bool
	// IsUniqueViolation and IsForeignKeyViolation classify driver errors.
	IsUniqueViolation     func(error) bool
	IsForeignKeyViolation func(error) bool
}

// querier is what *sql.DB and *sql.Tx share.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Store is store.Store over database/sql. The zero value is not usable: use
// New.
type Store struct {
	d   Dialect
	log *slog.Logger

	readDB, writeDB *sql.DB   // nil in a transaction-bound Store
	tx              *sql.Tx   // nil outside InTx
	conn            *sql.Conn // tx's connection, for Raw
	depth           int       // savepoint nesting inside tx
	closers         []func() error
	bulk            *bulkStmts // see PrepareBulk; shared with transaction-bound Stores
}

var _ store.Store = (*Store)(nil)

// New wraps two pools: reads outside transactions use read, everything
// else uses write (they may be the same pool). closers run at Close after
// both pools are closed.
func New(d Dialect, read, write *sql.DB, log *slog.Logger, closers ...func() error) *Store {
	return &Store{d: d, log: log, readDB: read, writeDB: write, closers: closers}
}

// SQLDB is the pool writes go through (River shares it on SQLite).
func (s *Store) SQLDB() *sql.DB { return s.writeDB }

// Tx is the transaction of a Store handed to an InTx function, nil otherwise.
func (s *Store) Tx() *sql.Tx { return s.tx }

// Dialect is "sqlite" or "postgres".
func (s *Store) Dialect() string { return s.d.Name }

// Ping checks both pools answer.
func (s *Store) Ping(ctx context.Context) error {
	if s.tx != nil {
		return nil
	}
	if err := s.writeDB.PingContext(ctx); err != nil {
		return fmt.Errorf("store: ping %s: %w", s.d.Name, err)
	}
	if s.readDB != s.writeDB {
		if err := s.readDB.PingContext(ctx); err != nil {
			return fmt.Errorf("store: ping %s readers: %w", s.d.Name, err)
		}
	}
	return nil
}

// Close closes the pools; a transaction-bound Store closes nothing.
func (s *Store) Close() error {
	if s.tx != nil {
		return nil
	}
	errs := []error{s.bulk.close()}
	if s.readDB != s.writeDB {
		errs = append(errs, s.readDB.Close())
	}
	errs = append(errs, s.writeDB.Close())
	for _, c := range s.closers {
		errs = append(errs, c())
	}
	return errors.Join(errs...)
}

type txKey struct{}

// InTx runs fn in one transaction. Inside a transaction it nests with a
// savepoint, so an error from fn undoes only fn's writes.
func (s *Store) InTx(ctx context.Context, fn func(ctx context.Context, tx store.Store) error) (err error) {
	if s.tx != nil {
		sp := "coupler_sp_" + strconv.Itoa(s.depth+1)
		if _, err := s.tx.ExecContext(ctx, "SAVEPOINT "+sp); err != nil {
			return fmt.Errorf("store: savepoint: %w", err)
		}
		inner := *s
		inner.depth++
		if err := fn(ctx, &inner); err != nil {
			if _, rerr := s.tx.ExecContext(ctx, "ROLLBACK TO SAVEPOINT "+sp); rerr != nil {
				return errors.Join(err, fmt.Errorf("store: rollback to savepoint: %w", rerr))
			}
			return err
		}
		if _, err := s.tx.ExecContext(ctx, "RELEASE SAVEPOINT "+sp); err != nil {
			return fmt.Errorf("store: release savepoint: %w", err)
		}
		return nil
	}
	if err := s.writable(ctx); err != nil {
		return err
	}
	// A dedicated connection, so that Raw can reach the transaction's
	// driver connection (River's transactional insert on PostgreSQL).
	conn, err := s.writeDB.Conn(ctx)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	defer conn.Close()
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	done := false
	defer func() {
		if !done {
			_ = tx.Rollback() // fn panicked; the panic goes on
		}
	}()
	inner := &Store{d: s.d, log: s.log, tx: tx, conn: conn, bulk: s.bulk}
	if err := fn(context.WithValue(ctx, txKey{}, s), inner); err != nil {
		done = true
		if rerr := tx.Rollback(); rerr != nil && !errors.Is(rerr, sql.ErrTxDone) {
			return errors.Join(err, fmt.Errorf("store: rollback: %w", rerr))
		}
		return err
	}
	done = true
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: commit: %w", err)
	}
	return nil
}

// Raw runs fn with the driver connection of the transaction (a
// *stdlib.Conn on PostgreSQL), so that River can insert jobs in it. Only a
// Store handed to an InTx function has one.
func (s *Store) Raw(fn func(driverConn any) error) error {
	if s.conn == nil {
		return errors.New("store: Raw needs the Store handed to a store.InTx function")
	}
	return s.conn.Raw(fn)
}

// InsideSingleWriterTx reports whether ctx comes from inside InTx of a
// store with one writer connection (SQLite), where anything that writes
// through another path than the tx Store would wait for itself.
func InsideSingleWriterTx(ctx context.Context) bool {
	s, _ := ctx.Value(txKey{}).(*Store)
	return s != nil && s.d.SingleWriter
}

// writable refuses a write on the outer Store from inside its own InTx when
// the database has a single writer connection: it would deadlock.
func (s *Store) writable(ctx context.Context) error {
	if s.tx == nil && s.d.SingleWriter && ctx.Value(txKey{}) == s {
		return errors.New("store: write on the outer store inside InTx (it would wait for its own transaction): use the tx Store passed to the InTx function")
	}
	return nil
}

// r is where reads go.
func (s *Store) r() querier {
	if s.tx != nil {
		return s.tx
	}
	return s.readDB
}

// w is where writes go, after the deadlock check.
func (s *Store) w(ctx context.Context) (querier, error) {
	if s.tx != nil {
		return s.tx, nil
	}
	if err := s.writable(ctx); err != nil {
		return nil, err
	}
	return s.writeDB, nil
}

// guarded runs fn, under a savepoint when an error would abort the
// caller's transaction (PostgreSQL), so that a conflict can be reported and
// diagnosed while the transaction stays usable.
func (s *Store) guarded(ctx context.Context, fn func(q querier) error) error {
	q, err := s.w(ctx)
	if err != nil {
		return err
	}
	if s.tx == nil || !s.d.ErrorAbortsTx {
		return fn(q)
	}
	if _, err := s.tx.ExecContext(ctx, "SAVEPOINT coupler_guard"); err != nil {
		return fmt.Errorf("store: savepoint: %w", err)
	}
	if err := fn(q); err != nil {
		if _, rerr := s.tx.ExecContext(ctx, "ROLLBACK TO SAVEPOINT coupler_guard"); rerr != nil {
			return errors.Join(err, fmt.Errorf("store: rollback to savepoint: %w", rerr))
		}
		return err
	}
	if _, err := s.tx.ExecContext(ctx, "RELEASE SAVEPOINT coupler_guard"); err != nil {
		return fmt.Errorf("store: release savepoint: %w", err)
	}
	return nil
}

// inWriteTx runs fn in the current transaction, or in a new one.
func (s *Store) inWriteTx(ctx context.Context, fn func(q querier) error) error {
	if s.tx != nil {
		return s.guarded(ctx, fn)
	}
	return s.InTx(ctx, func(ctx context.Context, tx store.Store) error {
		return fn(tx.(*Store).tx)
	})
}

// now is the store's clock: UTC, microseconds (what PostgreSQL keeps), so
// that values read back equal values written on both databases.
func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// ts is a time parameter: NULL for the zero time.
func ts(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Truncate(time.Microsecond)
}

// tm reads a nullable time column.
func tm(n sql.NullTime) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return n.Time.UTC()
}

// orNow is t, or now when t is zero.
func orNow(t time.Time) time.Time {
	if t.IsZero() {
		return now()
	}
	return t.UTC().Truncate(time.Microsecond)
}

func notFound(err error, format string, args ...any) error {
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("store: "+format+": %w", append(args, store.ErrNotFound)...)
	}
	return fmt.Errorf("store: "+format+": %w", append(args, err)...)
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("store: %w: "+format, append([]any{store.ErrInvalid}, args...)...)
}

func affected(res sql.Result, what string, args ...any) error {
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("store: "+what+": %w", append(args, err)...)
	}
	if n == 0 {
		return fmt.Errorf("store: "+what+": %w", append(args, store.ErrNotFound)...)
	}
	return nil
}

// query builds a statement from constant fragments and numbered
// placeholders; values never enter the SQL text.
type query struct {
	sb   strings.Builder
	args []any
}

func (q *query) sql(s string) *query { q.sb.WriteString(s); return q }

// arg appends a placeholder for v.
func (q *query) arg(v any) *query {
	q.args = append(q.args, v)
	q.sb.WriteString("$" + strconv.Itoa(len(q.args)))
	return q
}

func (q *query) String() string { return q.sb.String() }

func errConflict() error { return store.ErrConflict }
func errNotFound() error { return store.ErrNotFound }
