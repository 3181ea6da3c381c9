package sqlstore

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/coupler/coupler/internal/store"
	"github.com/coupler/coupler/internal/syncer"
)

// bulkRows is how many couplings go in one statement: 1,000 rows of 13
// parameters stay well under SQLite's 32,766-parameter limit.
const bulkRows = 1000

// PutCouplings upserts by (mapping, ERP id) in one transaction: one
// statement per 1,000 rows (multi-row VALUES on SQLite, unnest of arrays on
// PostgreSQL). ErrConflict, naming the id, when a CRM id is coupled to
// another ERP record or an id appears twice in the batch; nothing is written
// then.
func (s *Store) PutCouplings(ctx context.Context, cs []syncer.Coupling) error {
	if len(cs) == 0 {
		return nil
	}
	if err := checkBatch(cs); err != nil {
		return err
	}
	t := now()
	err := s.inWriteTx(ctx, func(q querier) error {
		for start := 0; start < len(cs); start += bulkRows {
			chunk := cs[start:min(start+bulkRows, len(cs))]
			var err error
			if s.d.Name == "postgres" {
				err = upsertUnnest(ctx, q, chunk, t)
			} else {
				err = s.putValues(ctx, q, chunk, t)
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil && s.d.IsUniqueViolation(err) {
		// The transaction (or savepoint) is rolled back: find who holds it.
		q, qerr := s.w(ctx)
		if qerr != nil {
			return qerr
		}
		for _, c := range cs {
			other, gerr := scanCoupling(q.QueryRowContext(ctx,
				`SELECT `+couplingCols+` FROM couplings WHERE mapping = $1 AND crm_id = $2`, c.Mapping, c.CRMID))
			if gerr == nil && other.ERPID != c.ERPID {
				return s.couplingConflict(ctx, q, c)
			}
		}
	}
	if err != nil {
		return fmt.Errorf("store: put %d couplings: %w", len(cs), err)
	}
	return nil
}

// checkBatch refuses invalid rows and ids repeated within the batch, which
// the databases would report less clearly (or, on PostgreSQL, as "cannot
// affect row a second time").
func checkBatch(cs []syncer.Coupling) error {
	type key struct{ mapping, id string }
	erp := make(map[key]string, len(cs))
	crm := make(map[key]string, len(cs))
	for i, c := range cs {
		if err := validCoupling(c); err != nil {
			return fmt.Errorf("coupling %d of %d: %w", i+1, len(cs), err)
		}
		if prev, ok := erp[key{c.Mapping, c.ERPID}]; ok {
			return fmt.Errorf("store: coupling %s: ERP id %q appears twice in the batch (with CRM ids %q and %q): %w", c.Mapping, c.ERPID, prev, c.CRMID, store.ErrConflict)
		}
		if prev, ok := crm[key{c.Mapping, c.CRMID}]; ok {
			return fmt.Errorf("store: coupling %s: CRM id %q appears twice in the batch (with ERP ids %q and %q): %w", c.Mapping, c.CRMID, prev, c.ERPID, store.ErrConflict)
		}
		erp[key{c.Mapping, c.ERPID}] = c.CRMID
		crm[key{c.Mapping, c.CRMID}] = c.ERPID
	}
	return nil
}

const bulkSet = ` ON CONFLICT (mapping, erp_id) DO UPDATE SET crm_id = excluded.crm_id,
	erp_modified_at = excluded.erp_modified_at, crm_modified_at = excluded.crm_modified_at,
	last_result = excluded.last_result, last_job_id = excluded.last_job_id, last_error = excluded.last_error,
	fail_count = excluded.fail_count, skipped = excluded.skipped, snapshot = excluded.snapshot, updated_at = excluded.updated_at`

const bulkInto = `INSERT INTO couplings (mapping, erp_id, crm_id, erp_modified_at, crm_modified_at,
	last_result, last_job_id, last_error, fail_count, skipped, snapshot, created_at, updated_at) `

// valuesSQL caches the statement text per row count; it holds placeholders
// only.
var valuesSQL sync.Map // int → string

func upsertValues(ctx context.Context, q querier, cs []syncer.Coupling, t time.Time) error {
	// Plain ? placeholders: SQLite resolves each $N by name, which is
	// quadratic in a 12,000-parameter statement.
	stmt := rowsSQL(&valuesSQL, len(cs), bulkInto+"VALUES ", "(?,?,?,?,?,?,?,?,?,?,?,?,?)", bulkSet)
	_, err := q.ExecContext(ctx, stmt, newArgs(cs, t, false)...)
	return err
}

func upsertUnnest(ctx context.Context, q querier, cs []syncer.Coupling, t time.Time) error {
	n := len(cs)
	var (
		mappings, erpIDs, crmIDs, results, lastErrs = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		erpMods, crmMods                            = make([]*time.Time, n), make([]*time.Time, n)
		jobs, fails                                 = make([]int64, n), make([]int64, n)
		skipped                                     = make([]bool, n)
		snapshots                                   = make([]string, n)
	)
	for i, c := range cs {
		mappings[i], erpIDs[i], crmIDs[i], results[i], lastErrs[i] = c.Mapping, c.ERPID, c.CRMID, c.LastResult, c.LastError
		erpMods[i], crmMods[i] = timePtr(c.ERPModifiedAt), timePtr(c.CRMModifiedAt)
		jobs[i], fails[i], skipped[i], snapshots[i] = c.LastJobID, int64(c.FailCount), c.Skipped, c.Snapshot
	}
	_, err := q.ExecContext(ctx, bulkInto+`SELECT u.mapping, u.erp_id, u.crm_id, u.erp_mod, u.crm_mod,
			u.res, u.job, u.err, u.fails, u.skipped, u.snapshot, $1, $1
		FROM unnest($2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::timestamptz[],
			$7::text[], $8::bigint[], $9::text[], $10::bigint[], $11::boolean[], $12::text[])
			AS u(mapping, erp_id, crm_id, erp_mod, crm_mod, res, job, err, fails, skipped, snapshot)`+bulkSet,
		t, mappings, erpIDs, crmIDs, erpMods, crmMods, results, jobs, lastErrs, fails, skipped, snapshots)
	return err
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC().Truncate(time.Microsecond)
	return &u
}

// lookupRows is how many ids one GetCouplings statement asks for.
const lookupRows = 500

// GetCouplings returns the couplings of a mapping whose ERP ids (side
// "erp") or CRM ids (side "crm") are among ids, in no particular order;
// ids that are not coupled are simply absent. One statement per 500 ids, so
// that the engine looks up a whole page instead of one record at a time.
func (s *Store) GetCouplings(ctx context.Context, mappingName, side string, ids []string) ([]syncer.Coupling, error) {
	col := ""
	switch side {
	case syncer.SideERP:
		col = "erp_id"
	case syncer.SideCRM:
		col = "crm_id"
	default:
		return nil, invalid("get couplings of %s: side %q is neither \"erp\" nor \"crm\"", mappingName, side)
	}
	if s.d.Name == "postgres" {
		return s.getCouplingsByArray(ctx, mappingName, side, col, ids)
	}
	out := []syncer.Coupling{}
	for start := 0; start < len(ids); start += lookupRows {
		chunk := ids[start:min(start+lookupRows, len(ids))]
		// Plain ? placeholders, as in upsertValues: SQLite resolves each $N
		// by name, a scan of the names so far per parameter.
		var sb strings.Builder
		sb.WriteString(`SELECT ` + couplingCols + ` FROM couplings WHERE mapping = ? AND ` + col + ` IN (`)
		args := make([]any, 0, len(chunk)+1)
		args = append(args, mappingName)
		for k, id := range chunk {
			if k > 0 {
				sb.WriteByte(',')
			}
			sb.WriteByte('?')
			args = append(args, id)
		}
		sb.WriteByte(')')
		rows, err := s.r().QueryContext(ctx, sb.String(), args...)
		if err != nil {
			return nil, fmt.Errorf("store: get %d couplings of %s by %s id: %w", len(chunk), mappingName, side, err)
		}
		cs, err := collect(rows, "get couplings of "+mappingName, scanCoupling)
		if err != nil {
			return nil, err
		}
		out = append(out, cs...)
	}
	return out, nil
}

// getCouplingsByArray looks the ids up one index probe each on
// PostgreSQL. An IN list lets the planner scan every coupling of the
// mapping instead, which it does while the table's statistics date from
// when it was small (autovacuum analyses it at most once a minute): a
// full synchronisation of 60,000 records then spent minutes filtering
// each lookup's 500 ids over every row. A LATERAL probe of the unique
// index cannot be planned that way, whatever the statistics say.
func (s *Store) getCouplingsByArray(ctx context.Context, mappingName, side, col string, ids []string) ([]syncer.Coupling, error) {
	rows, err := s.r().QueryContext(ctx, `SELECT `+couplingCols+` FROM unnest($2::text[]) AS k(want),
		LATERAL (SELECT * FROM couplings WHERE mapping = $1 AND `+col+` = k.want) AS c`, mappingName, ids)
	if err != nil {
		return nil, fmt.Errorf("store: get %d couplings of %s by %s id: %w", len(ids), mappingName, side, err)
	}
	return collect(rows, "get couplings of "+mappingName, scanCoupling)
}
