package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/coupler/coupler/internal/mapping"
	"github.com/coupler/coupler/internal/setup"
	"github.com/coupler/coupler/internal/store"
)

// GetSetting returns ErrNotFound for a key never set.
func (s *Store) GetSetting(ctx context.Context, key string) (string, error) {
	var v string
	err := s.r().QueryRowContext(ctx, `SELECT value FROM settings WHERE key = $1`, key).Scan(&v)
	if err != nil {
		return "", notFound(err, "setting %q", key)
	}
	return v, nil
}

// PutSetting creates or replaces a setting.
func (s *Store) PutSetting(ctx context.Context, key, value string) error {
	if key == "" {
		return invalid("setting key is empty")
	}
	q, err := s.w(ctx)
	if err != nil {
		return err
	}
	_, err = q.ExecContext(ctx, `INSERT INTO settings (key, value, updated_at) VALUES ($1, $2, $3)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`, key, value, now())
	if err != nil {
		return fmt.Errorf("store: put setting %q: %w", key, err)
	}
	return nil
}

const secretCols = `owner, name, value, encrypted, key_id, updated_at`

func scanSecret(sc interface{ Scan(...any) error }) (store.Secret, error) {
	var x store.Secret
	err := sc.Scan(&x.Owner, &x.Name, &x.Value, &x.Encrypted, &x.KeyID, &x.UpdatedAt)
	x.UpdatedAt = x.UpdatedAt.UTC()
	return x, err
}

// GetSecret returns ErrNotFound when (owner, name) was never stored.
func (s *Store) GetSecret(ctx context.Context, owner, name string) (store.Secret, error) {
	x, err := scanSecret(s.r().QueryRowContext(ctx, `SELECT `+secretCols+` FROM secrets WHERE owner = $1 AND name = $2`, owner, name))
	if err != nil {
		return store.Secret{}, notFound(err, "secret %s/%s", owner, name)
	}
	return x, nil
}

// PutSecret creates or replaces a secret; UpdatedAt is set to now.
func (s *Store) PutSecret(ctx context.Context, x store.Secret) error {
	if x.Owner == "" || x.Name == "" {
		return invalid("secret owner and name must both be set (got owner %q, name %q)", x.Owner, x.Name)
	}
	q, err := s.w(ctx)
	if err != nil {
		return err
	}
	if x.Value == nil {
		x.Value = []byte{}
	}
	_, err = q.ExecContext(ctx, `INSERT INTO secrets (`+secretCols+`) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (owner, name) DO UPDATE SET value = excluded.value, encrypted = excluded.encrypted,
			key_id = excluded.key_id, updated_at = excluded.updated_at`,
		x.Owner, x.Name, x.Value, x.Encrypted, x.KeyID, now())
	if err != nil {
		return fmt.Errorf("store: put secret %s/%s: %w", x.Owner, x.Name, err)
	}
	return nil
}

// ListSecrets returns every secret by owner then name (for key rotation).
func (s *Store) ListSecrets(ctx context.Context) ([]store.Secret, error) {
	rows, err := s.r().QueryContext(ctx, `SELECT `+secretCols+` FROM secrets ORDER BY owner, name`)
	if err != nil {
		return nil, fmt.Errorf("store: list secrets: %w", err)
	}
	out, err := collect(rows, "list secrets", scanSecret)
	// Sorted here, not by the database, whose collations differ (PostgreSQL
	// follows the locale, SQLite compares bytes).
	slices.SortFunc(out, func(a, b store.Secret) int {
		return cmp.Or(strings.Compare(a.Owner, b.Owner), strings.Compare(a.Name, b.Name))
	})
	return out, err
}

// DeleteSecret returns ErrNotFound when there was nothing to delete.
func (s *Store) DeleteSecret(ctx context.Context, owner, name string) error {
	q, err := s.w(ctx)
	if err != nil {
		return err
	}
	res, err := q.ExecContext(ctx, `DELETE FROM secrets WHERE owner = $1 AND name = $2`, owner, name)
	if err != nil {
		return fmt.Errorf("store: delete secret %s/%s: %w", owner, name, err)
	}
	return affected(res, "delete secret %s/%s", owner, name)
}

// Connections and mappings are JSON documents keyed by name: their packages
// add fields without a migration.

// GetConnection returns ErrNotFound for an unknown name.
func (s *Store) GetConnection(ctx context.Context, name string) (setup.ConnectionSetup, error) {
	var c setup.ConnectionSetup
	return c, s.getDoc(ctx, "connections", "connection", name, &c)
}

// PutConnection creates or replaces a connection; UpdatedAt is set to now.
func (s *Store) PutConnection(ctx context.Context, c setup.ConnectionSetup) error {
	c.UpdatedAt = now()
	return s.putDoc(ctx, "connections", "connection", c.Name, c)
}

// ListConnections returns every connection by name.
func (s *Store) ListConnections(ctx context.Context) ([]setup.ConnectionSetup, error) {
	return listDocs[setup.ConnectionSetup](ctx, s, "connections", "connection")
}

// GetMapping returns ErrNotFound for an unknown name.
func (s *Store) GetMapping(ctx context.Context, name string) (mapping.TableMapping, error) {
	var m mapping.TableMapping
	return m, s.getDoc(ctx, "mappings", "mapping", name, &m)
}

// PutMapping creates or replaces a mapping; UpdatedAt is set to now.
func (s *Store) PutMapping(ctx context.Context, m mapping.TableMapping) error {
	m.UpdatedAt = now()
	return s.putDoc(ctx, "mappings", "mapping", m.Name, m)
}

// ListMappings returns every mapping by name.
func (s *Store) ListMappings(ctx context.Context) ([]mapping.TableMapping, error) {
	return listDocs[mapping.TableMapping](ctx, s, "mappings", "mapping")
}

// DeleteMapping removes a mapping (not its couplings, jobs or errors, which
// stay visible); ErrNotFound when there was none.
func (s *Store) DeleteMapping(ctx context.Context, name string) error {
	q, err := s.w(ctx)
	if err != nil {
		return err
	}
	res, err := q.ExecContext(ctx, `DELETE FROM mappings WHERE name = $1`, name)
	if err != nil {
		return fmt.Errorf("store: delete mapping %q: %w", name, err)
	}
	return affected(res, "delete mapping %q", name)
}

// table is one of two constants chosen by the caller, never input.
func (s *Store) getDoc(ctx context.Context, table, what, name string, v any) error {
	var doc []byte
	err := s.r().QueryRowContext(ctx, `SELECT doc FROM `+table+` WHERE name = $1`, name).Scan(&doc)
	if err != nil {
		return notFound(err, "%s %q", what, name)
	}
	if err := json.Unmarshal(doc, v); err != nil {
		return fmt.Errorf("store: %s %q: stored document is not valid: %w", what, name, err)
	}
	return nil
}

func (s *Store) putDoc(ctx context.Context, table, what, name string, v any) error {
	if name == "" {
		return invalid("%s name is empty", what)
	}
	doc, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("store: put %s %q: encode: %w", what, name, err)
	}
	q, err := s.w(ctx)
	if err != nil {
		return err
	}
	_, err = q.ExecContext(ctx, `INSERT INTO `+table+` (name, doc, updated_at) VALUES ($1, $2, $3)
		ON CONFLICT (name) DO UPDATE SET doc = excluded.doc, updated_at = excluded.updated_at`, name, string(doc), now())
	if err != nil {
		return fmt.Errorf("store: put %s %q: %w", what, name, err)
	}
	return nil
}

func listDocs[T any](ctx context.Context, s *Store, table, what string) ([]T, error) {
	rows, err := s.r().QueryContext(ctx, `SELECT name, doc FROM `+table+` ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("store: list %ss: %w", what, err)
	}
	type named struct {
		name string
		v    T
	}
	got, err := collect(rows, "list "+what+"s", func(sc interface{ Scan(...any) error }) (named, error) {
		var (
			n   named
			doc []byte
		)
		if err := sc.Scan(&n.name, &doc); err != nil {
			return n, err
		}
		if err := json.Unmarshal(doc, &n.v); err != nil {
			return n, fmt.Errorf("%s %q: stored document is not valid: %w", what, n.name, err)
		}
		return n, nil
	})
	if err != nil {
		return nil, err
	}
	// Byte order on both databases (their collations differ).
	slices.SortFunc(got, func(a, b named) int { return strings.Compare(a.name, b.name) })
	out := make([]T, len(got))
	for i, n := range got {
		out[i] = n.v
	}
	return out, nil
}

// collect scans every row and closes rows.
func collect[T any](rows *sql.Rows, what string, scan func(interface{ Scan(...any) error }) (T, error)) ([]T, error) {
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("store: %s: %w", what, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: %s: %w", what, err)
	}
	return out, nil
}
