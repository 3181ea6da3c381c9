package ratelimit

import (
	"log/slog"
	"time"

	"github.com/coupler/coupler/internal/setup"
	"github.com/coupler/coupler/internal/store"
)

// ClientBudget is the budget coupler's API clients keep to per user: 2 %
// under the services' 6,000 requests per 5 minutes, because a request
// reaches the service a little after its turn and a few late ones must not
// tip the service's sliding window over.
func ClientBudget() Budget { return Budget{Requests: 5880, Window: 5 * time.Minute} }

// ClientPacers is setup.DialOptions.Pacers for every client coupler builds
// on st. On PostgreSQL, where several instances may run, each client of a
// (connection, service, user) takes its turns from that user's shared
// bucket, so that the instances together keep to b. On SQLite (one
// instance) it is nil: each client keeps its in-process limiter. A nil log
// discards.
func ClientPacers(st store.Store, log *slog.Logger, b Budget) (setup.Pacers, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	l, err := New(st, log)
	if err != nil {
		return nil, err
	}
	if !l.Shared() {
		return nil, nil
	}
	if _, err := b.normalised(); err != nil {
		return nil, err
	}
	return l.pacers(b), nil
}

func (l *Limiter) pacers(b Budget) setup.Pacers {
	return func(connection, service, user string) (setup.Pacer, error) {
		bk, err := l.Bucket(Key{Connection: connection, Service: service, User: user}, b)
		if err != nil {
			return nil, err
		}
		return bk, nil
	}
}
