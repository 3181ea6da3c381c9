package sqlstore

import (
	"context"
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
	stmt, ok := newSQL.Load(len(cs))
	if !ok {
		var sb strings.Builder
		sb.WriteString(strings.Replace(bulkInto, "INSERT INTO", "INSERT OR FAIL INTO", 1) + "VALUES ")
		for i := range cs {
			if i > 0 {
				sb.WriteByte(',')
			}
			sb.WriteString("(?,?,?,?,?,?,?,?,?,?,?,?,?)")
		}
		stmt, _ = newSQL.LoadOrStore(len(cs), sb.String())
	}
	args := make([]any, 0, 13*len(cs))
	for _, c := range cs {
		args = append(args, c.Mapping, c.ERPID, c.CRMID, ts(c.ERPModifiedAt), ts(c.CRMModifiedAt),
			c.LastResult, c.LastJobID, c.LastError, c.FailCount, c.Skipped, c.Snapshot, t, t)
	}
	_, err := q.ExecContext(ctx, stmt.(string), args...)
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
