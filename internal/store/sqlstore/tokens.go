package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/coupler/coupler/internal/store"
)

const tokenCols = `id, user_id, name, hash, prefix, created_at, last_used_at`

func scanToken(sc interface{ Scan(...any) error }) (store.APIToken, error) {
	var t store.APIToken
	var used sql.NullTime
	err := sc.Scan(&t.ID, &t.UserID, &t.Name, &t.Hash, &t.Prefix, &t.CreatedAt, &used)
	t.CreatedAt, t.LastUsedAt = t.CreatedAt.UTC(), tm(used)
	return t, err
}

// CreateAPIToken stores a token's hash; ErrConflict when the hash exists.
func (s *Store) CreateAPIToken(ctx context.Context, t store.APIToken) (store.APIToken, error) {
	if t.UserID == 0 || t.Hash == "" || t.Name == "" {
		return t, invalid("API token %q: user, name and hash must be set", t.Name)
	}
	t.CreatedAt = orNow(t.CreatedAt)
	err := s.guarded(ctx, func(q querier) error {
		return q.QueryRowContext(ctx, `INSERT INTO api_tokens (user_id, name, hash, prefix, created_at)
			VALUES ($1, $2, $3, $4, $5) RETURNING id`, t.UserID, t.Name, t.Hash, t.Prefix, t.CreatedAt).Scan(&t.ID)
	})
	if err != nil && s.d.IsUniqueViolation(err) {
		return t, fmt.Errorf("store: create API token %q: %w", t.Name, errConflict())
	}
	if err != nil {
		return t, fmt.Errorf("store: create API token %q of user %d: %w", t.Name, t.UserID, err)
	}
	return t, nil
}

// GetAPITokenByHash returns ErrNotFound for an unknown hash.
func (s *Store) GetAPITokenByHash(ctx context.Context, hash string) (store.APIToken, error) {
	t, err := scanToken(s.r().QueryRowContext(ctx, `SELECT `+tokenCols+` FROM api_tokens WHERE hash = $1`, hash))
	if err != nil {
		return t, notFound(err, "API token")
	}
	return t, nil
}

// ListAPITokens returns a user's tokens by ID.
func (s *Store) ListAPITokens(ctx context.Context, userID int64) ([]store.APIToken, error) {
	rows, err := s.r().QueryContext(ctx, `SELECT `+tokenCols+` FROM api_tokens WHERE user_id = $1 ORDER BY id`, userID)
	if err != nil {
		return nil, fmt.Errorf("store: list API tokens of user %d: %w", userID, err)
	}
	return collect(rows, "list API tokens", scanToken)
}

// TouchAPIToken records when a token was last used.
func (s *Store) TouchAPIToken(ctx context.Context, id int64, at time.Time) error {
	return s.guarded(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx, `UPDATE api_tokens SET last_used_at = $1 WHERE id = $2`, orNow(at), id)
		if err != nil {
			return fmt.Errorf("store: touch API token %d: %w", id, err)
		}
		return affected(res, "touch API token %d", id)
	})
}

// DeleteAPIToken removes a token of the user; ErrNotFound otherwise.
func (s *Store) DeleteAPIToken(ctx context.Context, userID, id int64) error {
	return s.guarded(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx, `DELETE FROM api_tokens WHERE id = $1 AND user_id = $2`, id, userID)
		if err != nil {
			return fmt.Errorf("store: delete API token %d: %w", id, err)
		}
		return affected(res, "delete API token %d of user %d", id, userID)
	})
}
