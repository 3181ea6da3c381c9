// Package ratelimit keeps the services' per-user request budgets (6,000
// requests per 5 minutes for Dataverse and Business Central) across every
// coupler instance of a deployment. On PostgreSQL each (connection,
// service, user) is one token bucket row that all instances draw from in a
// single atomic statement, so ten instances together stay under the limit
// the service counts per user; on SQLite (one instance) the buckets live in
// memory.
//
// A Bucket's Wait has the signature of (*rate.Limiter).Wait, so an API
// client can take either.
package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/time/rate"

	"github.com/coupler/coupler/internal/store"
)

// Services whose limits coupler shares; any other name works too.
const (
	ServiceDataverse = "dataverse"
	ServiceBC        = "bc"
)

// Key names one budget: the service counts requests per user, and each
// connection setup has its own users.
type Key struct {
	Connection string
	Service    string
	User       string
}

func (k Key) String() string { return k.Connection + "/" + k.Service + "/" + k.User }

func (k Key) validate() error {
	var missing []string
	if k.Connection == "" {
		missing = append(missing, "connection")
	}
	if k.Service == "" {
		missing = append(missing, "service")
	}
	if k.User == "" {
		missing = append(missing, "user")
	}
	if len(missing) > 0 {
		return fmt.Errorf("ratelimit: key %q: %s empty: name the connection setup, the service (%q or %q) and the API user", k.String(), strings.Join(missing, ", "), ServiceDataverse, ServiceBC)
	}
	return nil
}

// Budget is a service's limit: at most Requests in any sliding Window.
type Budget struct {
	Requests int
	Window   time.Duration
	// Burst is how many requests may go at once after a quiet spell
	// (default Requests/200, at least 1). The refill rate is
	// (Requests-Burst)/Window, so that burst plus refill never exceed
	// Requests in any Window.
	Burst int
}

// DefaultBudget is the documented limit of both services per user.
func DefaultBudget() Budget { return Budget{Requests: 6000, Window: 5 * time.Minute} }

func (b Budget) normalised() (Budget, error) {
	if b.Requests <= 0 || b.Window <= 0 || b.Burst < 0 {
		return b, fmt.Errorf("ratelimit: budget of %d requests per %v (burst %d): requests and window must be positive, burst not negative", b.Requests, b.Window, b.Burst)
	}
	if b.Burst == 0 {
		b.Burst = max(1, b.Requests/200)
	}
	if b.Burst >= b.Requests {
		return b, fmt.Errorf("ratelimit: burst %d must be below the %d requests of the window", b.Burst, b.Requests)
	}
	return b, nil
}

// perSecond is the refill rate.
func (b Budget) perSecond() float64 {
	return float64(b.Requests-b.Burst) / b.Window.Seconds()
}

// Limiter hands out the buckets of one deployment.
type Limiter struct {
	pool *pgxpool.Pool // nil: in memory
	log  *slog.Logger

	mu    sync.Mutex
	local map[Key]*rate.Limiter
}

// New returns the limiter for st: shared through PostgreSQL when st is the
// PostgreSQL store, in memory otherwise (SQLite runs one instance).
func New(st store.Store, log *slog.Logger) (*Limiter, error) {
	if st == nil || log == nil {
		return nil, errors.New("ratelimit: store and logger are required")
	}
	l := &Limiter{log: log.With("component", "ratelimit"), local: map[Key]*rate.Limiter{}}
	if p, ok := st.(interface{ Pool() *pgxpool.Pool }); ok {
		l.pool = p.Pool()
	}
	return l, nil
}

// NewShared returns a limiter over a PostgreSQL pool whose schema has the
// rate_buckets table (store migration 004).
func NewShared(pool *pgxpool.Pool, log *slog.Logger) (*Limiter, error) {
	if pool == nil || log == nil {
		return nil, errors.New("ratelimit: pool and logger are required")
	}
	return &Limiter{pool: pool, log: log.With("component", "ratelimit"), local: map[Key]*rate.Limiter{}}, nil
}

// Shared reports whether buckets are kept in the database.
func (l *Limiter) Shared() bool { return l.pool != nil }

// Bucket is one budget; safe for concurrent use.
type Bucket struct {
	l      *Limiter
	key    Key
	budget Budget
	local  *rate.Limiter // in-memory mode
}

// Bucket returns the bucket of key with budget b. Every instance must use
// the same budget for the same key: the row holds only the tokens.
func (l *Limiter) Bucket(key Key, b Budget) (*Bucket, error) {
	if err := key.validate(); err != nil {
		return nil, err
	}
	b, err := b.normalised()
	if err != nil {
		return nil, fmt.Errorf("%w (key %s)", err, key)
	}
	bk := &Bucket{l: l, key: key, budget: b}
	if l.pool == nil {
		l.mu.Lock()
		lim := l.local[key]
		if lim == nil {
			lim = rate.NewLimiter(rate.Limit(b.perSecond()), b.Burst)
			l.local[key] = lim
		}
		l.mu.Unlock()
		bk.local = lim
	}
	return bk, nil
}

// Key names the bucket.
func (b *Bucket) Key() Key { return b.key }

// Wait blocks until one request may be sent, or ctx ends. As with
// rate.Limiter, a wait that would outlast ctx's deadline returns at once
// with an error and gives its turn back.
func (b *Bucket) Wait(ctx context.Context) error {
	if b.local != nil {
		if err := b.local.Wait(ctx); err != nil {
			return fmt.Errorf("ratelimit: %s: %w", b.key, err)
		}
		return nil
	}
	wait, err := b.reserve(ctx, 1)
	if err != nil {
		return err
	}
	if wait <= 0 {
		return nil
	}
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
		b.refund(1)
		return fmt.Errorf("ratelimit: %s: the next turn is in %v, after the context's deadline: %w", b.key, wait.Round(time.Millisecond), context.DeadlineExceeded)
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		b.refund(1)
		return fmt.Errorf("ratelimit: %s: %w", b.key, ctx.Err())
	}
}

// take draws n tokens from the row and returns the tokens left: negative
// means the caller's turn is -tokens/rate seconds away. Time comes from the
// database's clock, the one clock every instance shares; GREATEST keeps
// updated_at from going back when statements commit out of order.
const take = `
INSERT INTO rate_buckets AS b (connection, service, user_name, tokens, updated_at)
VALUES ($1, $2, $3, $4::float8 - $6::float8, clock_timestamp())
ON CONFLICT (connection, service, user_name) DO UPDATE SET
	tokens = LEAST($4::float8, b.tokens + GREATEST(0, EXTRACT(EPOCH FROM clock_timestamp() - b.updated_at)::float8) * $5::float8) - $6::float8,
	updated_at = GREATEST(b.updated_at, clock_timestamp())
RETURNING tokens`

func (b *Bucket) reserve(ctx context.Context, n float64) (time.Duration, error) {
	var tokens float64
	err := b.l.pool.QueryRow(ctx, take, b.key.Connection, b.key.Service, b.key.User,
		float64(b.budget.Burst), b.budget.perSecond(), n).Scan(&tokens)
	if err != nil {
		return 0, fmt.Errorf("ratelimit: %s: take a token from the shared bucket: %w", b.key, err)
	}
	if tokens >= 0 {
		return 0, nil
	}
	return time.Duration(-tokens / b.budget.perSecond() * float64(time.Second)), nil
}

// refund gives back a turn that will not be used, so that a cancelled
// caller does not cost the others. Best effort: a lost refund only makes
// the budget stricter.
func (b *Bucket) refund(n float64) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := b.l.pool.Exec(ctx, `UPDATE rate_buckets SET tokens = LEAST($4::float8, tokens + $5::float8)
		WHERE connection = $1 AND service = $2 AND user_name = $3`,
		b.key.Connection, b.key.Service, b.key.User, float64(b.budget.Burst), n); err != nil {
		b.l.log.Warn("ratelimit: could not give back an unused turn", "key", b.key.String(), "err", err)
	}
}
