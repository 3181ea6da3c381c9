package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/coupler/coupler/internal/store"
	"github.com/coupler/coupler/internal/syncer"
)

const jobCols = `id, mapping, job_trigger, status, started_at, finished_at, inserted, modified, deleted,
	unchanged, skipped, failed, coupled, uncoupled, message`

func scanJob(sc interface{ Scan(...any) error }) (syncer.Job, error) {
	var (
		j        syncer.Job
		finished sql.NullTime
		n        = &j.Counts
	)
	err := sc.Scan(&j.ID, &j.Mapping, &j.Trigger, &j.Status, &j.StartedAt, &finished, &n.Inserted, &n.Modified,
		&n.Deleted, &n.Unchanged, &n.Skipped, &n.Failed, &n.Coupled, &n.Uncoupled, &j.Message)
	j.StartedAt, j.FinishedAt = j.StartedAt.UTC(), tm(finished)
	return j, err
}

// CreateJob records a run; StartedAt defaults to now and Status to
// "running". The job comes back with its ID.
func (s *Store) CreateJob(ctx context.Context, j syncer.Job) (syncer.Job, error) {
	if j.Mapping == "" {
		return j, invalid("job: mapping is empty")
	}
	if j.Status == "" {
		j.Status = "running"
	}
	j.StartedAt = orNow(j.StartedAt)
	if !j.FinishedAt.IsZero() {
		j.FinishedAt = j.FinishedAt.UTC().Truncate(time.Microsecond)
	}
	q, err := s.w(ctx)
	if err != nil {
		return j, err
	}
	n := j.Counts
	err = q.QueryRowContext(ctx, `INSERT INTO sync_jobs (mapping, job_trigger, status, started_at, finished_at,
			inserted, modified, deleted, unchanged, skipped, failed, coupled, uncoupled, message)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id`,
		j.Mapping, j.Trigger, j.Status, j.StartedAt, ts(j.FinishedAt), n.Inserted, n.Modified, n.Deleted,
		n.Unchanged, n.Skipped, n.Failed, n.Coupled, n.Uncoupled, j.Message).Scan(&j.ID)
	if err != nil {
		return j, fmt.Errorf("store: create job of %s: %w", j.Mapping, err)
	}
	return j, nil
}

// UpdateJob saves a run's status, finish time, counts and message (mapping,
// trigger and start are fixed at creation); ErrNotFound for an unknown ID.
func (s *Store) UpdateJob(ctx context.Context, j syncer.Job) error {
	q, err := s.w(ctx)
	if err != nil {
		return err
	}
	n := j.Counts
	res, err := q.ExecContext(ctx, `UPDATE sync_jobs SET status = $1, finished_at = $2, inserted = $3,
			modified = $4, deleted = $5, unchanged = $6, skipped = $7, failed = $8, coupled = $9,
			uncoupled = $10, message = $11
		WHERE id = $12`,
		j.Status, ts(j.FinishedAt), n.Inserted, n.Modified, n.Deleted, n.Unchanged, n.Skipped, n.Failed,
		n.Coupled, n.Uncoupled, j.Message, j.ID)
	if err != nil {
		return fmt.Errorf("store: update job %d: %w", j.ID, err)
	}
	return affected(res, "update job %d", j.ID)
}

// GetJob returns ErrNotFound for an unknown ID.
func (s *Store) GetJob(ctx context.Context, id int64) (syncer.Job, error) {
	j, err := scanJob(s.r().QueryRowContext(ctx, `SELECT `+jobCols+` FROM sync_jobs WHERE id = $1`, id))
	if err != nil {
		return j, notFound(err, "job %d", id)
	}
	return j, nil
}

// ListJobs returns runs newest first.
func (s *Store) ListJobs(ctx context.Context, f store.JobFilter) ([]syncer.Job, error) {
	q := new(query).sql(`SELECT ` + jobCols + ` FROM sync_jobs`)
	if f.Mapping != "" {
		q.sql(` WHERE mapping = `).arg(f.Mapping)
	}
	q.sql(` ORDER BY id DESC`)
	if f.Limit > 0 {
		q.sql(` LIMIT `).arg(f.Limit)
	}
	rows, err := s.r().QueryContext(ctx, q.String(), q.args...)
	if err != nil {
		return nil, fmt.Errorf("store: list jobs: %w", err)
	}
	return collect(rows, "list jobs", scanJob)
}

const errorCols = `id, job_id, mapping, direction, erp_id, crm_id, field, code, message, payload, created_at, resolved_at`

func scanError(sc interface{ Scan(...any) error }) (syncer.SyncError, error) {
	var (
		e        syncer.SyncError
		job      sql.NullInt64
		resolved sql.NullTime
	)
	err := sc.Scan(&e.ID, &job, &e.Mapping, &e.Direction, &e.ERPID, &e.CRMID, &e.Field, &e.Code, &e.Message,
		&e.Payload, &e.CreatedAt, &resolved)
	e.JobID, e.CreatedAt, e.ResolvedAt = job.Int64, e.CreatedAt.UTC(), tm(resolved)
	return e, err
}

// AddErrors records failures in one transaction. JobID 0 means "outside a
// run"; an unknown JobID is ErrNotFound and nothing is written.
func (s *Store) AddErrors(ctx context.Context, es []syncer.SyncError) error {
	if len(es) == 0 {
		return nil
	}
	for i, e := range es {
		if e.Mapping == "" {
			return invalid("sync error %d of %d (ERP id %q, CRM id %q): mapping is empty", i+1, len(es), e.ERPID, e.CRMID)
		}
	}
	err := s.inWriteTx(ctx, func(q querier) error {
		for _, e := range es {
			var job any
			if e.JobID != 0 {
				job = e.JobID
			}
			_, err := q.ExecContext(ctx, `INSERT INTO sync_errors (job_id, mapping, direction, erp_id, crm_id,
					field, code, message, payload, created_at, resolved_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
				job, e.Mapping, e.Direction, e.ERPID, e.CRMID, e.Field, e.Code, e.Message, e.Payload,
				orNow(e.CreatedAt), ts(e.ResolvedAt))
			if err != nil && s.d.IsForeignKeyViolation(err) {
				return fmt.Errorf("store: sync error of %s ERP id %q: job %d: %w", e.Mapping, e.ERPID, e.JobID, store.ErrNotFound)
			}
			if err != nil {
				return fmt.Errorf("store: add sync error of %s ERP id %q: %w", e.Mapping, e.ERPID, err)
			}
		}
		return nil
	})
	return err
}

// ListErrors returns failures newest first.
func (s *Store) ListErrors(ctx context.Context, f store.ErrorFilter) ([]syncer.SyncError, error) {
	q := new(query).sql(`SELECT ` + errorCols + ` FROM sync_errors WHERE TRUE`)
	if f.Mapping != "" {
		q.sql(` AND mapping = `).arg(f.Mapping)
	}
	if f.JobID != 0 {
		q.sql(` AND job_id = `).arg(f.JobID)
	}
	if f.OpenOnly {
		q.sql(` AND resolved_at IS NULL`)
	}
	q.sql(` ORDER BY id DESC`)
	if f.Limit > 0 {
		q.sql(` LIMIT `).arg(f.Limit)
	}
	rows, err := s.r().QueryContext(ctx, q.String(), q.args...)
	if err != nil {
		return nil, fmt.Errorf("store: list sync errors: %w", err)
	}
	return collect(rows, "list sync errors", scanError)
}

// ResolveErrors closes the open failures of one record, matched by ERP id
// or CRM id (either may be empty, not both); at defaults to now.
func (s *Store) ResolveErrors(ctx context.Context, mappingName, erpID, crmID string, at time.Time) error {
	if mappingName == "" {
		return invalid("resolve sync errors: mapping is empty")
	}
	if erpID == "" && crmID == "" {
		return invalid("resolve sync errors of %s: neither ERP id nor CRM id is set: name the record", mappingName)
	}
	q := new(query).sql(`UPDATE sync_errors SET resolved_at = `).arg(orNow(at)).
		sql(` WHERE resolved_at IS NULL AND mapping = `).arg(mappingName).sql(` AND (`)
	switch {
	case erpID != "" && crmID != "":
		q.sql(`erp_id = `).arg(erpID).sql(` OR crm_id = `).arg(crmID)
	case erpID != "":
		q.sql(`erp_id = `).arg(erpID)
	default:
		q.sql(`crm_id = `).arg(crmID)
	}
	q.sql(`)`)
	w, err := s.w(ctx)
	if err != nil {
		return err
	}
	if _, err := w.ExecContext(ctx, q.String(), q.args...); err != nil {
		return fmt.Errorf("store: resolve sync errors of %s ERP %q CRM %q: %w", mappingName, erpID, crmID, err)
	}
	return nil
}

// GetCursor returns ErrNotFound before the first run of a mapping's side.
func (s *Store) GetCursor(ctx context.Context, mappingName, side string) (syncer.Cursor, error) {
	c := syncer.Cursor{Mapping: mappingName, Side: side}
	err := s.r().QueryRowContext(ctx, `SELECT value, updated_at FROM cursors WHERE mapping = $1 AND side = $2`,
		mappingName, side).Scan(&c.Value, &c.UpdatedAt)
	if err != nil {
		return c, notFound(err, "cursor of %s side %q", mappingName, side)
	}
	c.UpdatedAt = c.UpdatedAt.UTC()
	return c, nil
}

// PutCursor moves a high-water mark; UpdatedAt is set to now.
func (s *Store) PutCursor(ctx context.Context, c syncer.Cursor) error {
	if c.Mapping == "" {
		return invalid("cursor: mapping is empty")
	}
	if c.Side != "erp" && c.Side != "crm" {
		return invalid("cursor of %s: side %q is neither \"erp\" nor \"crm\"", c.Mapping, c.Side)
	}
	q, err := s.w(ctx)
	if err != nil {
		return err
	}
	_, err = q.ExecContext(ctx, `INSERT INTO cursors (mapping, side, value, updated_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (mapping, side) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
		c.Mapping, c.Side, c.Value, now())
	if err != nil {
		return fmt.Errorf("store: put cursor of %s side %s: %w", c.Mapping, c.Side, err)
	}
	return nil
}
