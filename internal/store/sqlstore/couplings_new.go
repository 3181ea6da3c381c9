package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/coupler/coupler/internal/syncer"
)

// putValues writes a chunk of couplings on SQLite. Those the caller read
// from the store (ID set) go through the upsert first, then the new ones
// (ID zero: a full run's creations) through insertNew, which SQLite runs
// without a statement journal. The order frees a CRM id an updated
// coupling gives up before a new one takes it.
func (s *Store) putValues(ctx context.Context, q querier, cs []syncer.Coupling, t time.Time) error {
	var known, fresh []syncer.Coupling
	for _, c := range cs {
		if c.ID != 0 {
			known = append(known, c)
		} else {
			fresh = append(fresh, c)
		}
	}
	if len(fresh) == 0 || len(known) == 0 {
		// One statement when the chunk is all of one kind, the common case.
		known, fresh = nil, cs
		if cs[0].ID != 0 {
			known, fresh = cs, nil
		}
	}
	if len(known) > 0 {
		if err := upsertValues(ctx, q, known, t); err != nil {
			return err
		}
	}
	if len(fresh) == 0 {
		return nil
	}
	ok, err := s.insertNew(ctx, q, fresh, t)
	if err != nil || ok {
		return err
	}
	// One of them was coupled after all (a coupling made since the caller
	// looked): the upsert updates it, or names the conflict.
	return upsertValues(ctx, q, fresh, t)
}

// newSQL caches insertNew's statement text per row count.
var newSQL sync.Map // int → string

// newSQLFor is insertNew's statement for n rows.
func newSQLFor(n int) string {
	stmt, ok := newSQL.Load(n)
	if !ok {
		var sb strings.Builder
		sb.WriteString(strings.Replace(bulkInto, "INSERT INTO", "INSERT OR FAIL INTO", 1) + "VALUES ")
		for i := range n {
			if i > 0 {
				sb.WriteByte(',')
			}
			sb.WriteString("(?,?,?,?,?,?,?,?,?,?,?,?,?)")
		}
		stmt, _ = newSQL.LoadOrStore(n, sb.String())
	}
	return stmt.(string)
}

// preparedRows is the row count of the insert PrepareBulk prepares: a
// chunk of a full run is a Dataverse $batch of 1,000 creates, and
// PutCouplings writes 1,000 rows a statement.
const preparedRows = bulkRows

// bulkStmts holds statements prepared once on the writer connection and
// shared by the transactions on it: SQLite parsed insertNew's 13,000
// parameters again for every chunk of 1,000 (0.2 s per 100,000 records).
type bulkStmts struct {
	insertNew *sql.Stmt // preparedRows rows
}

// PrepareBulk prepares the statements of bulkStmts on the writer pool.
// It must run outside any transaction: on SQLite the single writer
// connection is then free (preparing inside one would wait for itself),
// and a transaction later finds the statement prepared on its connection.
func (s *Store) PrepareBulk(ctx context.Context) error {
	if s.tx != nil {
		return errors.New("store: PrepareBulk inside a transaction")
	}
	st, err := s.writeDB.PrepareContext(ctx, newSQLFor(preparedRows))
	if err != nil {
		return fmt.Errorf("store: prepare the insert of %d couplings: %w", preparedRows, err)
	}
	s.bulk = &bulkStmts{insertNew: st}
	return nil
}

func (b *bulkStmts) close() error {
	if b == nil {
		return nil
	}
	return b.insertNew.Close()
}

// insertNew inserts couplings expected to be new with INSERT OR FAIL: an
// upsert (like any statement that may abort halfway) makes SQLite copy
// every index page it changes into a statement journal first, so that it
// can undo its own rows; 1,000 random ERP and CRM ids change most pages
// of both unique indexes. OR FAIL keeps the rows inserted before a
// failing one instead, and insertNew removes them itself: they are the
// rows above the highest id before the statement, as the caller holds the
// write transaction. It reports false, having written nothing, when one of
// the rows' ids is already coupled, so that the caller can upsert instead.
func (s *Store) insertNew(ctx context.Context, q querier, cs []syncer.Coupling, t time.Time) (bool, error) {
	var top int64
	if err := q.QueryRowContext(ctx, `SELECT coalesce(max(id), 0) FROM couplings`).Scan(&top); err != nil {
		return false, err
	}
	args := make([]any, 0, 13*len(cs))
	for _, c := range cs {
		args = append(args, c.Mapping, c.ERPID, c.CRMID, ts(c.ERPModifiedAt), ts(c.CRMModifiedAt),
			c.LastResult, c.LastJobID, c.LastError, c.FailCount, c.Skipped, c.Snapshot, t, t)
	}
	var err error
	if tx, ok := q.(*sql.Tx); ok && s.bulk != nil && len(cs) == preparedRows {
		_, err = tx.StmtContext(ctx, s.bulk.insertNew).ExecContext(ctx, args...)
	} else {
		_, err = q.ExecContext(ctx, newSQLFor(len(cs)), args...)
	}
	if err == nil {
		return true, nil
	}
	if _, derr := q.ExecContext(ctx, `DELETE FROM couplings WHERE id > ?`, top); derr != nil {
		return false, fmt.Errorf("%w (and removing the rows inserted before it: %w)", err, derr)
	}
	if s.d.IsUniqueViolation(err) {
		return false, nil
	}
	return false, err
}
