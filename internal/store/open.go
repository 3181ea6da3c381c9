package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"sync"
)

// ErrInvalid is returned when a value cannot be stored as given (an empty
// key, an unknown side); the wrapping message names the field.
var ErrInvalid = errors.New("invalid")

// Options say which database Open connects to.
type Options struct {
	// DataDir holds coupler.db when DatabaseURL is empty.
	DataDir string
	// DatabaseURL is a postgres:// URL; empty means the SQLite file.
	DatabaseURL string
	Logger      *slog.Logger
}

// Opener opens one implementation. Implementations register themselves with
// RegisterDialect in their init, like database/sql drivers, because they
// import this package and it cannot import them back.
type Opener func(ctx context.Context, opts Options) (Store, error)

var (
	openersMu sync.RWMutex
	openers   = map[string]Opener{}
)

// RegisterDialect makes an implementation available to Open under name
// ("sqlite" or "postgres").
func RegisterDialect(name string, open Opener) {
	openersMu.Lock()
	defer openersMu.Unlock()
	openers[name] = open
}

// Open connects to the database Options name, applies pending migrations and
// returns the Store. The binary must link the implementation in, e.g.
//
//	import _ "github.com/coupler/coupler/internal/store/sqlite"
func Open(ctx context.Context, opts Options) (Store, error) {
	dialect, err := DialectOf(opts)
	if err != nil {
		return nil, err
	}
	openersMu.RLock()
	open := openers[dialect]
	openersMu.RUnlock()
	if open == nil {
		return nil, fmt.Errorf("store: the %s implementation is not linked into this binary (blank-import github.com/coupler/coupler/internal/store/%s)", dialect, dialect)
	}
	if opts.Logger == nil {
		return nil, fmt.Errorf("store: Options.Logger is nil: pass the program's *slog.Logger")
	}
	return open(ctx, opts)
}

// DialectOf is the implementation Options select: "postgres" for a
// postgres:// or postgresql:// DatabaseURL, "sqlite" when it is empty.
func DialectOf(opts Options) (string, error) {
	if opts.DatabaseURL == "" {
		if opts.DataDir == "" {
			return "", fmt.Errorf("store: %w: data dir is empty and no database URL is set: set --data-dir or --database-url", ErrInvalid)
		}
		return "sqlite", nil
	}
	u, err := url.Parse(opts.DatabaseURL)
	if err != nil {
		return "", fmt.Errorf("store: %w: database_url is not a URL (%v): use postgres://user@host:5432/db", ErrInvalid, redact(err))
	}
	switch u.Scheme {
	case "postgres", "postgresql":
		return "postgres", nil
	}
	return "", fmt.Errorf("store: %w: database_url scheme %q is not supported: use postgres://… (or leave it empty for the SQLite file in the data dir)", ErrInvalid, u.Scheme)
}

// redact drops the URL from a parse error, which may carry a password.
func redact(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return "malformed"
}

// MigrationResult is what Open did to the schema; implementations expose it
// as Migrated() so that operators and tests can see that a second start
// migrated nothing.
type MigrationResult struct {
	From, To int      // schema versions before and after
	Applied  []string // names of the migrations applied, in order
}
