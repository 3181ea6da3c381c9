package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"time"

	"github.com/coupler/coupler/internal/store"
)

const keyCols = `id, user_name, hash, prefix, created_at, revoked_at, last_used_at`

func scanKey(sc interface{ Scan(...any) error }) (store.ServiceKey, error) {
	var k store.ServiceKey
	var rev, used sql.NullTime
	err := sc.Scan(&k.ID, &k.UserName, &k.Hash, &k.Prefix, &k.CreatedAt, &rev, &used)
	k.CreatedAt, k.RevokedAt, k.LastUsedAt = k.CreatedAt.UTC(), tm(rev), tm(used)
	return k, err
}

// CreateServiceKey stores a key's hash; ErrConflict when the hash is known.
func (s *Store) CreateServiceKey(ctx context.Context, k store.ServiceKey) (store.ServiceKey, error) {
	if k.UserName == "" || k.Hash == "" {
		return k, invalid("service key needs a user name and a hash (got user %q)", k.UserName)
	}
	k.CreatedAt = orNow(k.CreatedAt)
	err := s.guarded(ctx, func(q querier) error {
		return q.QueryRowContext(ctx, `INSERT INTO service_keys (user_name, hash, prefix, created_at) VALUES ($1, $2, $3, $4) RETURNING id`,
			k.UserName, k.Hash, k.Prefix, k.CreatedAt).Scan(&k.ID)
	})
	if err != nil {
		if s.d.IsUniqueViolation(err) {
			return k, fmt.Errorf("store: service key %s…: %w", k.Prefix, store.ErrConflict)
		}
		return k, fmt.Errorf("store: create service key for %q: %w", k.UserName, err)
	}
	return k, nil
}

func (s *Store) listKeys(ctx context.Context, where string, args ...any) ([]store.ServiceKey, error) {
	rows, err := s.r().QueryContext(ctx, `SELECT `+keyCols+` FROM service_keys `+where+` ORDER BY id`, args...)
	if err != nil {
		return nil, fmt.Errorf("store: list service keys: %w", err)
	}
	defer rows.Close()
	var out []store.ServiceKey
	for rows.Next() {
		k, err := scanKey(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list service keys: %w", err)
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// ListServiceKeys lists every key, revoked ones included, oldest first.
func (s *Store) ListServiceKeys(ctx context.Context) ([]store.ServiceKey, error) {
	return s.listKeys(ctx, "")
}

// ActiveServiceKeys lists the unrevoked keys of one ERP user name.
func (s *Store) ActiveServiceKeys(ctx context.Context, userName string) ([]store.ServiceKey, error) {
	return s.listKeys(ctx, `WHERE user_name = $1 AND revoked_at IS NULL`, userName)
}

// RevokeServiceKey marks a key revoked; ErrNotFound for an unknown or
// already revoked key.
func (s *Store) RevokeServiceKey(ctx context.Context, id int64, at time.Time) error {
	q, err := s.w(ctx)
	if err != nil {
		return err
	}
	res, err := q.ExecContext(ctx, `UPDATE service_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL`, orNow(at), id)
	if err != nil {
		return fmt.Errorf("store: revoke service key %d: %w", id, err)
	}
	return affected(res, "revoke service key %d (unknown or already revoked)", id)
}

// TouchServiceKey records a successful use.
func (s *Store) TouchServiceKey(ctx context.Context, id int64, at time.Time) error {
	q, err := s.w(ctx)
	if err != nil {
		return err
	}
	res, err := q.ExecContext(ctx, `UPDATE service_keys SET last_used_at = $1 WHERE id = $2`, orNow(at), id)
	if err != nil {
		return fmt.Errorf("store: touch service key %d: %w", id, err)
	}
	return affected(res, "touch service key %d", id)
}

const docCols = `kind, crm_id, crm_number, crm_version, state, erp_id, erp_number, erp_status, revision, attempts, error, lease_until, created_at, updated_at`

func scanDoc(sc interface{ Scan(...any) error }) (store.Document, error) {
	var d store.Document
	var lease sql.NullTime
	err := sc.Scan(&d.Kind, &d.CRMID, &d.CRMNumber, &d.CRMVersion, &d.State, &d.ERPID, &d.ERPNumber, &d.ERPStatus, &d.Revision, &d.Attempts, &d.Error, &lease, &d.CreatedAt, &d.UpdatedAt)
	d.LeaseUntil, d.CreatedAt, d.UpdatedAt = tm(lease), d.CreatedAt.UTC(), d.UpdatedAt.UTC()
	return d, err
}

func validDoc(d store.Document) error {
	if d.Kind == "" || d.CRMID == "" {
		return invalid("document needs a kind and a CRM id (got kind %q, CRM id %q)", d.Kind, d.CRMID)
	}
	return nil
}

// ClaimDocument: see store.Store.
func (s *Store) ClaimDocument(ctx context.Context, d store.Document, leaseUntil time.Time) (store.Document, error) {
	if err := validDoc(d); err != nil {
		return store.Document{}, err
	}
	var prev store.Document
	err := s.inWriteTx(ctx, func(q querier) error {
		t := now()
		old, err := scanDoc(q.QueryRowContext(ctx, `SELECT `+docCols+` FROM documents WHERE kind = $1 AND crm_id = $2`, d.Kind, d.CRMID))
		if errors.Is(err, sql.ErrNoRows) {
			if d.State == "" {
				d.State = store.DocPending
			}
			_, err := q.ExecContext(ctx, `INSERT INTO documents (`+docCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13)`,
				d.Kind, d.CRMID, d.CRMNumber, d.CRMVersion, d.State, d.ERPID, d.ERPNumber, d.ERPStatus, d.Revision, d.Attempts, d.Error, ts(leaseUntil), t)
			if err != nil && s.d.IsUniqueViolation(err) {
				return fmt.Errorf("store: claim %s %s: claimed by another worker: %w", d.Kind, d.CRMID, store.ErrConflict)
			}
			return err
		}
		if err != nil {
			return err
		}
		if old.LeaseUntil.After(t) {
			return fmt.Errorf("store: claim %s %s: held by another worker until %s: %w", d.Kind, d.CRMID, old.LeaseUntil.Format(time.RFC3339), store.ErrConflict)
		}
		res, err := q.ExecContext(ctx, `UPDATE documents SET lease_until = $1 WHERE kind = $2 AND crm_id = $3 AND (lease_until IS NULL OR lease_until <= $4)`,
			ts(leaseUntil), d.Kind, d.CRMID, t)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("store: claim %s %s: claimed by another worker: %w", d.Kind, d.CRMID, store.ErrConflict)
		}
		prev = old
		return nil
	})
	if err != nil {
		if errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrInvalid) {
			return store.Document{}, err
		}
		return store.Document{}, fmt.Errorf("store: claim %s %s: %w", d.Kind, d.CRMID, err)
	}
	return prev, nil
}

// PutDocument creates or replaces a document row (lease included).
func (s *Store) PutDocument(ctx context.Context, d store.Document) error {
	if err := validDoc(d); err != nil {
		return err
	}
	if d.State == "" {
		return invalid("document %s %s has no state", d.Kind, d.CRMID)
	}
	q, err := s.w(ctx)
	if err != nil {
		return err
	}
	t := now()
	_, err = q.ExecContext(ctx, `INSERT INTO documents (`+docCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
		ON CONFLICT (kind, crm_id) DO UPDATE SET crm_number = excluded.crm_number, crm_version = excluded.crm_version, state = excluded.state, erp_id = excluded.erp_id,
			erp_number = excluded.erp_number, erp_status = excluded.erp_status, revision = excluded.revision, attempts = excluded.attempts,
			error = excluded.error, lease_until = excluded.lease_until, updated_at = excluded.updated_at`,
		d.Kind, d.CRMID, d.CRMNumber, d.CRMVersion, d.State, d.ERPID, d.ERPNumber, d.ERPStatus, d.Revision, d.Attempts, d.Error, ts(d.LeaseUntil), orNow(d.CreatedAt), t)
	if err != nil {
		return fmt.Errorf("store: put %s %s: %w", d.Kind, d.CRMID, err)
	}
	return nil
}

// GetDocument returns ErrNotFound for a CRM document never claimed.
func (s *Store) GetDocument(ctx context.Context, kind, crmID string) (store.Document, error) {
	d, err := scanDoc(s.r().QueryRowContext(ctx, `SELECT `+docCols+` FROM documents WHERE kind = $1 AND crm_id = $2`, kind, crmID))
	if err != nil {
		return store.Document{}, notFound(err, "%s %s", kind, crmID)
	}
	return d, nil
}

// ListDocuments lists documents of a kind (and state), by CRM id.
func (s *Store) ListDocuments(ctx context.Context, f store.DocumentFilter) ([]store.Document, error) {
	var qb query
	qb.sql(`SELECT ` + docCols + ` FROM documents WHERE kind = `).arg(f.Kind)
	if f.State != "" {
		qb.sql(` AND state = `).arg(f.State)
	}
	qb.sql(` ORDER BY crm_id`)
	if f.Limit > 0 {
		qb.sql(` LIMIT `).arg(f.Limit)
	}
	rows, err := s.r().QueryContext(ctx, qb.String(), qb.args...)
	if err != nil {
		return nil, fmt.Errorf("store: list %s documents: %w", f.Kind, err)
	}
	defer rows.Close()
	var out []store.Document
	for rows.Next() {
		d, err := scanDoc(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list %s documents: %w", f.Kind, err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}
