package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/coupler/coupler/internal/store"
)

// InsertTx enqueues a job in the store transaction tx (the Store handed to
// a store.InTx function): the job exists if and only if the transaction
// commits, so that a crash can never keep the write and lose its job, or
// the reverse.
func (q *Queue) InsertTx(ctx context.Context, tx store.Store, args river.JobArgs, opts *river.InsertOpts) (int64, error) {
	var (
		res *rivertype.JobInsertResult
		err error
	)
	switch c := q.client.(type) {
	case *river.Client[*sql.Tx]:
		t, ok := tx.(interface{ Tx() *sql.Tx })
		if !ok || t.Tx() == nil {
			return 0, fmt.Errorf("jobs: insert %s: InsertTx needs the Store handed to a store.InTx function", args.Kind())
		}
		res, err = c.InsertTx(ctx, t.Tx(), args, opts)
	case *river.Client[pgx.Tx]:
		r, ok := tx.(interface {
			Raw(fn func(driverConn any) error) error
		})
		if !ok {
			return 0, fmt.Errorf("jobs: insert %s: InsertTx needs the Store handed to a store.InTx function", args.Kind())
		}
		err = r.Raw(func(dc any) error {
			sc, ok := dc.(*stdlib.Conn)
			if !ok {
				return fmt.Errorf("the store's connection is a %T, not pgx's", dc)
			}
			var ierr error
			res, ierr = c.InsertTx(ctx, &connTx{conn: sc.Conn()}, args, opts)
			return ierr
		})
	default:
		return 0, fmt.Errorf("jobs: insert %s: unexpected River client %T", args.Kind(), q.client)
	}
	if err != nil {
		return 0, fmt.Errorf("jobs: insert %s in the store's transaction: %w", args.Kind(), err)
	}
	return res.Job.ID, nil
}

// connTx presents a connection that is inside the store's transaction as a
// pgx.Tx for River. Its own Begin nests with savepoints; the outer
// transaction is committed or rolled back by store.InTx, never here.
type connTx struct {
	conn      *pgx.Conn
	depth     int
	savepoint string // "" for the outer transaction
}

var errOuterTx = errors.New("jobs: the store's transaction ends in store.InTx, not in River")

func (t *connTx) Begin(ctx context.Context) (pgx.Tx, error) {
	sp := "river_sp_" + strconv.Itoa(t.depth+1)
	if _, err := t.conn.Exec(ctx, "SAVEPOINT "+sp); err != nil {
		return nil, err
	}
	return &connTx{conn: t.conn, depth: t.depth + 1, savepoint: sp}, nil
}

func (t *connTx) Commit(ctx context.Context) error {
	if t.savepoint == "" {
		return errOuterTx
	}
	_, err := t.conn.Exec(ctx, "RELEASE SAVEPOINT "+t.savepoint)
	return err
}

func (t *connTx) Rollback(ctx context.Context) error {
	if t.savepoint == "" {
		return errOuterTx
	}
	_, err := t.conn.Exec(ctx, "ROLLBACK TO SAVEPOINT "+t.savepoint+"; RELEASE SAVEPOINT "+t.savepoint)
	return err
}

func (t *connTx) CopyFrom(ctx context.Context, table pgx.Identifier, cols []string, src pgx.CopyFromSource) (int64, error) {
	return t.conn.CopyFrom(ctx, table, cols, src)
}

func (t *connTx) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	return t.conn.SendBatch(ctx, b)
}

// LargeObjects is not used by River.
func (t *connTx) LargeObjects() pgx.LargeObjects { return pgx.LargeObjects{} }

func (t *connTx) Prepare(ctx context.Context, name, sql string) (*pgconn.StatementDescription, error) {
	return t.conn.Prepare(ctx, name, sql)
}

func (t *connTx) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	return t.conn.Exec(ctx, sql, args...)
}

func (t *connTx) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	return t.conn.Query(ctx, sql, args...)
}

func (t *connTx) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return t.conn.QueryRow(ctx, sql, args...)
}

func (t *connTx) Conn() *pgx.Conn { return t.conn }
