package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/coupler/coupler/internal/syncer"
	"github.com/coupler/coupler/internal/users"
)

const intentCols = `id, mapping, direction, source_id, target_id, op, payload, created_at`

func scanIntent(sc interface{ Scan(...any) error }) (syncer.Intent, error) {
	var i syncer.Intent
	err := sc.Scan(&i.ID, &i.Mapping, &i.Direction, &i.SourceID, &i.TargetID, &i.Op, &i.Payload, &i.CreatedAt)
	i.CreatedAt = i.CreatedAt.UTC()
	return i, err
}

// AddIntents records writes about to be sent, in one transaction, and
// returns them with their IDs.
func (s *Store) AddIntents(ctx context.Context, is []syncer.Intent) ([]syncer.Intent, error) {
	out := make([]syncer.Intent, len(is))
	for k, i := range is {
		if i.Mapping == "" || i.Op == "" {
			return nil, invalid("intent %d of %d (source id %q): mapping and op must be set", k+1, len(is), i.SourceID)
		}
	}
	if len(is) == 0 {
		return out, nil
	}
	for k := range is {
		out[k] = is[k]
		out[k].CreatedAt = orNow(is[k].CreatedAt)
	}
	err := s.inWriteTx(ctx, func(q querier) error {
		for start := 0; start < len(out); start += bulkRows {
			if err := s.insertIntents(ctx, q, out[start:min(start+bulkRows, len(out))]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// insertIntents inserts up to bulkRows intents in one statement (one per
// intent cost a statement preparation each, a thousand per $batch) and
// sets their IDs. RETURNING gives the rows in no promised order, but the
// IDs are drawn in insertion order (AUTOINCREMENT on SQLite, an identity
// sequence on PostgreSQL) and the rows go in in VALUES order: the sorted
// IDs are the intents' in order.
func (s *Store) insertIntents(ctx context.Context, q querier, is []syncer.Intent) error {
	var sb strings.Builder
	sb.WriteString(`INSERT INTO intents (mapping, direction, source_id, target_id, op, payload, created_at) VALUES `)
	args := make([]any, 0, 7*len(is))
	for k, i := range is {
		if k > 0 {
			sb.WriteByte(',')
		}
		sb.WriteByte('(')
		for c := range 7 {
			if c > 0 {
				sb.WriteByte(',')
			}
			sb.WriteString(s.placeholder(len(args) + c + 1))
		}
		sb.WriteByte(')')
		args = append(args, i.Mapping, i.Direction, i.SourceID, i.TargetID, i.Op, i.Payload, i.CreatedAt)
	}
	sb.WriteString(` RETURNING id`)
	rows, err := q.QueryContext(ctx, sb.String(), args...)
	if err != nil {
		return fmt.Errorf("store: add %d intents (first: %s source %q): %w", len(is), is[0].Mapping, is[0].SourceID, err)
	}
	ids := make([]int64, 0, len(is))
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return fmt.Errorf("store: add %d intents: %w", len(is), err)
		}
		ids = append(ids, id)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return fmt.Errorf("store: add %d intents: %w", len(is), err)
	}
	if len(ids) != len(is) {
		return fmt.Errorf("store: add %d intents: %d IDs returned", len(is), len(ids))
	}
	slices.Sort(ids)
	for k := range is {
		is[k].ID = ids[k]
	}
	return nil
}

// placeholder is the n-th (1-based) parameter of a statement: plain ? on
// SQLite, which resolves each $N by name (quadratic in a statement of
// thousands of parameters), $N on PostgreSQL.
func (s *Store) placeholder(n int) string {
	if s.d.Name == "postgres" {
		return "$" + strconv.Itoa(n)
	}
	return "?"
}

// ListIntents returns a mapping's pending intents, oldest first.
func (s *Store) ListIntents(ctx context.Context, mappingName string) ([]syncer.Intent, error) {
	rows, err := s.r().QueryContext(ctx, `SELECT `+intentCols+` FROM intents WHERE mapping = $1 ORDER BY id`, mappingName)
	if err != nil {
		return nil, fmt.Errorf("store: list intents of %s: %w", mappingName, err)
	}
	return collect(rows, "list intents of "+mappingName, scanIntent)
}

// DeleteIntents removes reconciled intents; ids already gone are ignored,
// so that a retried reconciliation is harmless.
func (s *Store) DeleteIntents(ctx context.Context, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	return s.inWriteTx(ctx, func(q querier) error {
		for start := 0; start < len(ids); start += bulkRows {
			chunk := ids[start:min(start+bulkRows, len(ids))]
			var sb strings.Builder
			args := make([]any, len(chunk))
			sb.WriteString(`DELETE FROM intents WHERE id IN (`)
			for k, id := range chunk {
				if k > 0 {
					sb.WriteByte(',')
				}
				sb.WriteString(s.placeholder(k + 1))
				args[k] = id
			}
			sb.WriteByte(')')
			if _, err := q.ExecContext(ctx, sb.String(), args...); err != nil {
				return fmt.Errorf("store: delete %d intents: %w", len(chunk), err)
			}
		}
		return nil
	})
}

const userCols = `id, email, name, role, password_hash, crm_user_id, disabled, created_at, updated_at`

func scanUser(sc interface{ Scan(...any) error }) (users.User, error) {
	var u users.User
	err := sc.Scan(&u.ID, &u.Email, &u.Name, &u.Role, &u.PasswordHash, &u.CRMUserID, &u.Disabled, &u.CreatedAt, &u.UpdatedAt)
	u.CreatedAt, u.UpdatedAt = u.CreatedAt.UTC(), u.UpdatedAt.UTC()
	return u, err
}

// CreateUser returns ErrConflict when the e-mail (compared without case) is
// taken; the user comes back with ID and times set.
func (s *Store) CreateUser(ctx context.Context, u users.User) (users.User, error) {
	if u.Email == "" {
		return u, invalid("user %q: e-mail is empty", u.Name)
	}
	u.CreatedAt, u.UpdatedAt = orNow(u.CreatedAt), now()
	err := s.guarded(ctx, func(q querier) error {
		return q.QueryRowContext(ctx, `INSERT INTO users (email, name, role, password_hash, crm_user_id, disabled, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
			u.Email, u.Name, u.Role, u.PasswordHash, u.CRMUserID, u.Disabled, u.CreatedAt, u.UpdatedAt).Scan(&u.ID)
	})
	if err != nil && s.d.IsUniqueViolation(err) {
		return u, fmt.Errorf("store: create user: e-mail %q is already taken: %w", u.Email, errConflict())
	}
	if err != nil {
		return u, fmt.Errorf("store: create user %q: %w", u.Email, err)
	}
	return u, nil
}

// UpdateUser saves every field but CreatedAt; ErrNotFound for an unknown ID,
// ErrConflict for a taken e-mail.
func (s *Store) UpdateUser(ctx context.Context, u users.User) error {
	if u.Email == "" {
		return invalid("user %d: e-mail is empty", u.ID)
	}
	var n int64
	err := s.guarded(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx, `UPDATE users SET email = $1, name = $2, role = $3, password_hash = $4,
				crm_user_id = $5, disabled = $6, updated_at = $7 WHERE id = $8`,
			u.Email, u.Name, u.Role, u.PasswordHash, u.CRMUserID, u.Disabled, now(), u.ID)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil && s.d.IsUniqueViolation(err) {
		return fmt.Errorf("store: update user %d: e-mail %q is already taken: %w", u.ID, u.Email, errConflict())
	}
	if err != nil {
		return fmt.Errorf("store: update user %d: %w", u.ID, err)
	}
	if n == 0 {
		return fmt.Errorf("store: update user %d: %w", u.ID, errNotFound())
	}
	return nil
}

// GetUser returns ErrNotFound for an unknown ID.
func (s *Store) GetUser(ctx context.Context, id int64) (users.User, error) {
	u, err := scanUser(s.r().QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE id = $1`, id))
	if err != nil {
		return u, notFound(err, "user %d", id)
	}
	return u, nil
}

// GetUserByEmail compares e-mails without case; ErrNotFound when none.
func (s *Store) GetUserByEmail(ctx context.Context, email string) (users.User, error) {
	u, err := scanUser(s.r().QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE lower(email) = lower($1)`, email))
	if err != nil {
		return u, notFound(err, "user with e-mail %q", email)
	}
	return u, nil
}

// ListUsers returns every user by ID.
func (s *Store) ListUsers(ctx context.Context) ([]users.User, error) {
	rows, err := s.r().QueryContext(ctx, `SELECT `+userCols+` FROM users ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("store: list users: %w", err)
	}
	return collect(rows, "list users", scanUser)
}
