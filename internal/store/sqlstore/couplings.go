package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/coupler/coupler/internal/store"
	"github.com/coupler/coupler/internal/syncer"
)

const couplingCols = `id, mapping, erp_id, crm_id, erp_modified_at, crm_modified_at, last_result,
	last_job_id, last_error, fail_count, skipped, snapshot, created_at, updated_at`

func scanCoupling(sc interface{ Scan(...any) error }) (syncer.Coupling, error) {
	var (
		c              syncer.Coupling
		erpMod, crmMod sql.NullTime
	)
	err := sc.Scan(&c.ID, &c.Mapping, &c.ERPID, &c.CRMID, &erpMod, &crmMod, &c.LastResult,
		&c.LastJobID, &c.LastError, &c.FailCount, &c.Skipped, &c.Snapshot, &c.CreatedAt, &c.UpdatedAt)
	c.ERPModifiedAt, c.CRMModifiedAt = tm(erpMod), tm(crmMod)
	c.CreatedAt, c.UpdatedAt = c.CreatedAt.UTC(), c.UpdatedAt.UTC()
	return c, err
}

func scanCouplingIDs(sc interface{ Scan(...any) error }) (syncer.Coupling, error) {
	var c syncer.Coupling
	err := sc.Scan(&c.ID, &c.Mapping, &c.ERPID, &c.CRMID)
	return c, err
}

// GetCouplingByERP returns ErrNotFound when the ERP record is not coupled.
func (s *Store) GetCouplingByERP(ctx context.Context, mappingName, erpID string) (syncer.Coupling, error) {
	c, err := scanCoupling(s.r().QueryRowContext(ctx,
		`SELECT `+couplingCols+` FROM couplings WHERE mapping = $1 AND erp_id = $2`, mappingName, erpID))
	if err != nil {
		return c, notFound(err, "coupling of %s ERP id %q", mappingName, erpID)
	}
	return c, nil
}

// GetCouplingByCRM returns ErrNotFound when the CRM record is not coupled.
func (s *Store) GetCouplingByCRM(ctx context.Context, mappingName, crmID string) (syncer.Coupling, error) {
	c, err := scanCoupling(s.r().QueryRowContext(ctx,
		`SELECT `+couplingCols+` FROM couplings WHERE mapping = $1 AND crm_id = $2`, mappingName, crmID))
	if err != nil {
		return c, notFound(err, "coupling of %s CRM id %q", mappingName, crmID)
	}
	return c, nil
}

func validCoupling(c syncer.Coupling) error {
	switch {
	case c.Mapping == "":
		return invalid("coupling of ERP id %q: mapping is empty", c.ERPID)
	case c.ERPID == "":
		return invalid("coupling in %s of CRM id %q: ERP id is empty", c.Mapping, c.CRMID)
	case c.CRMID == "":
		return invalid("coupling in %s of ERP id %q: CRM id is empty", c.Mapping, c.ERPID)
	}
	return nil
}

// PutCoupling saves one coupling. With ID 0 it creates the coupling, or
// updates the one of the same ERP and CRM ids; with an ID it updates that
// row (ErrNotFound when gone). Either way ErrConflict when the ERP or CRM id
// is coupled to another record. CreatedAt, UpdatedAt and ID come back set.
func (s *Store) PutCoupling(ctx context.Context, c syncer.Coupling) (syncer.Coupling, error) {
	if err := validCoupling(c); err != nil {
		return c, err
	}
	t := now()
	c.UpdatedAt = t
	err := s.guarded(ctx, func(q querier) error {
		var err error
		if c.ID == 0 {
			err = q.QueryRowContext(ctx, `INSERT INTO couplings (mapping, erp_id, crm_id, erp_modified_at,
					crm_modified_at, last_result, last_job_id, last_error, fail_count, skipped, snapshot, created_at, updated_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)
				ON CONFLICT (mapping, erp_id) DO UPDATE SET erp_modified_at = excluded.erp_modified_at,
					crm_modified_at = excluded.crm_modified_at, last_result = excluded.last_result,
					last_job_id = excluded.last_job_id, last_error = excluded.last_error,
					fail_count = excluded.fail_count, skipped = excluded.skipped, snapshot = excluded.snapshot,
					updated_at = excluded.updated_at
				WHERE couplings.crm_id = excluded.crm_id
				RETURNING id, created_at`,
				c.Mapping, c.ERPID, c.CRMID, ts(c.ERPModifiedAt), ts(c.CRMModifiedAt), c.LastResult,
				c.LastJobID, c.LastError, c.FailCount, c.Skipped, c.Snapshot, t).Scan(&c.ID, &c.CreatedAt)
			if errors.Is(err, sql.ErrNoRows) {
				// The upsert's WHERE refused: the ERP id has another partner.
				return s.couplingConflict(ctx, q, c)
			}
		} else {
			err = q.QueryRowContext(ctx, `UPDATE couplings SET mapping = $1, erp_id = $2, crm_id = $3,
					erp_modified_at = $4, crm_modified_at = $5, last_result = $6, last_job_id = $7,
					last_error = $8, fail_count = $9, skipped = $10, snapshot = $11, updated_at = $12
				WHERE id = $13 RETURNING created_at`,
				c.Mapping, c.ERPID, c.CRMID, ts(c.ERPModifiedAt), ts(c.CRMModifiedAt), c.LastResult,
				c.LastJobID, c.LastError, c.FailCount, c.Skipped, c.Snapshot, t, c.ID).Scan(&c.CreatedAt)
			if errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("store: update coupling %d: %w", c.ID, store.ErrNotFound)
			}
		}
		if err != nil && s.d.IsUniqueViolation(err) {
			if s.tx != nil && s.d.ErrorAbortsTx {
				return err // diagnosed after the savepoint is rolled back
			}
			return s.couplingConflict(ctx, q, c)
		}
		if err != nil {
			return fmt.Errorf("store: put coupling %s ERP %q CRM %q: %w", c.Mapping, c.ERPID, c.CRMID, err)
		}
		return nil
	})
	if err != nil && s.d.IsUniqueViolation(err) {
		q, _ := s.w(ctx)
		err = s.couplingConflict(ctx, q, c)
	}
	c.CreatedAt = c.CreatedAt.UTC()
	return c, err
}

// couplingConflict names which id of c is already coupled to what.
func (s *Store) couplingConflict(ctx context.Context, q querier, c syncer.Coupling) error {
	var other syncer.Coupling
	other, err := scanCoupling(q.QueryRowContext(ctx,
		`SELECT `+couplingCols+` FROM couplings WHERE mapping = $1 AND erp_id = $2`, c.Mapping, c.ERPID))
	if err == nil && other.ID != c.ID && (c.ID != 0 || other.CRMID != c.CRMID) {
		return fmt.Errorf("store: coupling %s: ERP id %q is already coupled to CRM id %q: %w", c.Mapping, c.ERPID, other.CRMID, store.ErrConflict)
	}
	other, err = scanCoupling(q.QueryRowContext(ctx,
		`SELECT `+couplingCols+` FROM couplings WHERE mapping = $1 AND crm_id = $2`, c.Mapping, c.CRMID))
	if err == nil && other.ID != c.ID {
		return fmt.Errorf("store: coupling %s: CRM id %q is already coupled to ERP id %q: %w", c.Mapping, c.CRMID, other.ERPID, store.ErrConflict)
	}
	return fmt.Errorf("store: coupling %s ERP %q CRM %q: %w", c.Mapping, c.ERPID, c.CRMID, store.ErrConflict)
}

// DeleteCoupling decouples an ERP record; ErrNotFound when it was not.
func (s *Store) DeleteCoupling(ctx context.Context, mappingName, erpID string) error {
	q, err := s.w(ctx)
	if err != nil {
		return err
	}
	res, err := q.ExecContext(ctx, `DELETE FROM couplings WHERE mapping = $1 AND erp_id = $2`, mappingName, erpID)
	if err != nil {
		return fmt.Errorf("store: delete coupling %s ERP %q: %w", mappingName, erpID, err)
	}
	return affected(res, "delete coupling %s ERP %q", mappingName, erpID)
}

// ListCouplings pages by id: pass the last ID seen as AfterID.
func (s *Store) ListCouplings(ctx context.Context, f store.CouplingFilter) ([]syncer.Coupling, error) {
	if f.Limit < 0 || f.AfterID < 0 {
		return nil, invalid("coupling filter: limit (%d) and after id (%d) must not be negative", f.Limit, f.AfterID)
	}
	cols, scan := couplingCols, scanCoupling
	if f.IDsOnly {
		cols, scan = `id, mapping, erp_id, crm_id`, scanCouplingIDs
	}
	q := new(query).sql(`SELECT ` + cols + ` FROM couplings WHERE id > `).arg(f.AfterID)
	if f.Mapping != "" {
		q.sql(` AND mapping = `).arg(f.Mapping)
	}
	if f.SkippedOnly {
		q.sql(` AND skipped = TRUE`)
	}
	if f.FailedOnly {
		q.sql(` AND last_result = 'Failure'`)
	}
	q.sql(` ORDER BY id`)
	if f.Limit > 0 {
		q.sql(` LIMIT `).arg(f.Limit)
	}
	rows, err := s.r().QueryContext(ctx, q.String(), q.args...)
	if err != nil {
		return nil, fmt.Errorf("store: list couplings: %w", err)
	}
	return collect(rows, "list couplings", scan)
}

// CountCouplings counts a mapping's couplings ("" counts all).
func (s *Store) CountCouplings(ctx context.Context, mappingName string) (int, error) {
	q := new(query).sql(`SELECT COUNT(*) FROM couplings`)
	if mappingName != "" {
		q.sql(` WHERE mapping = `).arg(mappingName)
	}
	var n int
	if err := s.r().QueryRowContext(ctx, q.String(), q.args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: count couplings of %q: %w", mappingName, err)
	}
	return n, nil
}
