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
	return rowsSQL(&newSQL, n, strings.Replace(bulkInto, "INSERT INTO", "INSERT OR FAIL INTO", 1)+"VALUES ", "(?,?,?,?,?,?,?,?,?,?,?,?,?)", "")
}

// rowsSQL is head, then row n times separated by commas, then tail,
// cached in cache by n: the statements of 1,000 rows are long to build.
func rowsSQL(cache *sync.Map, n int, head, row, tail string) string {
	if stmt, ok := cache.Load(n); ok {
		return stmt.(string)
	}
	var sb strings.Builder
	sb.Grow(len(head) + n*(len(row)+1) + len(tail))
	sb.WriteString(head)
	for i := range n {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(row)
	}
	sb.WriteString(tail)
	stmt, _ := cache.LoadOrStore(n, sb.String())
	return stmt.(string)
}

// sharedInto is insertNew's statement when its rows share every value but
// their ids, modification times and snapshot, as a full run's creations
// do: the shared values come first, bound once as ?1 to ?7, and each row
// binds 5 values instead of 13. Binding copied every value into C memory
// and freed it again, a quarter of the statement's cost.
const sharedInto = `INSERT OR FAIL INTO couplings (mapping, last_result, last_job_id, last_error, fail_count,
	skipped, created_at, updated_at, erp_id, crm_id, erp_modified_at, crm_modified_at, snapshot) VALUES `

// sharedSQL caches insertNew's shared statement text per row count.
var sharedSQL sync.Map // int → string

// sharedSQLFor is insertNew's shared statement for n rows. A plain ? is
// numbered one past the highest number so far, so the rows' own values
// follow ?7.
func sharedSQLFor(n int) string {
	return rowsSQL(&sharedSQL, n, sharedInto, "(?1,?2,?3,?4,?5,?6,?7,?7,?,?,?,?,?)", "")
}

// shared reports whether the couplings differ only in what sharedInto
// binds per row.
func shared(cs []syncer.Coupling) bool {
	a := cs[0]
	for _, c := range cs[1:] {
		if c.Mapping != a.Mapping || c.LastResult != a.LastResult || c.LastJobID != a.LastJobID ||
			c.LastError != a.LastError || c.FailCount != a.FailCount || c.Skipped != a.Skipped {
			return false
		}
	}
	return true
}

// newArgs are the arguments of insertNew's statement for cs: the shared
// statement's when same, else newSQLFor's (and upsertValues', whose
// columns are the same).
func newArgs(cs []syncer.Coupling, t time.Time, same bool) []any {
	if same {
		a := cs[0]
		args := make([]any, 0, 7+5*len(cs))
		args = append(args, a.Mapping, a.LastResult, a.LastJobID, a.LastError, a.FailCount, a.Skipped, t)
		for _, c := range cs {
			args = append(args, c.ERPID, c.CRMID, ts(c.ERPModifiedAt), ts(c.CRMModifiedAt), c.Snapshot)
		}
		return args
	}
	args := make([]any, 0, 13*len(cs))
	for _, c := range cs {
		args = append(args, c.Mapping, c.ERPID, c.CRMID, ts(c.ERPModifiedAt), ts(c.CRMModifiedAt),
			c.LastResult, c.LastJobID, c.LastError, c.FailCount, c.Skipped, c.Snapshot, t, t)
	}
	return args
}

// preparedRows is the row count of the inserts PrepareBulk prepares: a
// chunk of a full run is a Dataverse $batch of 1,000 creates, and
// PutCouplings writes 1,000 rows a statement.
const preparedRows = bulkRows

// bulkStmts holds statements prepared once on the writer connection and
// shared by the transactions on it: SQLite parsed insertNew's 13,000
// parameters again for every chunk of 1,000 (0.2 s per 100,000 records).
type bulkStmts struct {
	insertNew    *sql.Stmt // preparedRows rows
	insertShared *sql.Stmt // preparedRows rows sharing sharedInto's values
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
	sh, err := s.writeDB.PrepareContext(ctx, sharedSQLFor(preparedRows))
	if err != nil {
		st.Close()
		return fmt.Errorf("store: prepare the insert of %d couplings sharing their result: %w", preparedRows, err)
	}
	s.bulk = &bulkStmts{insertNew: st, insertShared: sh}
	return nil
}

func (b *bulkStmts) close() error {
	if b == nil {
		return nil
	}
	return errors.Join(b.insertNew.Close(), b.insertShared.Close())
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
	same := shared(cs)
	args := newArgs(cs, t, same)
	var err error
	tx, isTx := q.(*sql.Tx)
	switch {
	case isTx && s.bulk != nil && len(cs) == preparedRows && same:
		_, err = tx.StmtContext(ctx, s.bulk.insertShared).ExecContext(ctx, args...)
	case isTx && s.bulk != nil && len(cs) == preparedRows:
		_, err = tx.StmtContext(ctx, s.bulk.insertNew).ExecContext(ctx, args...)
	case same:
		_, err = q.ExecContext(ctx, sharedSQLFor(len(cs)), args...)
	default:
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
