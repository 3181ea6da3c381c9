package syncer

import (
	"context"
	"errors"
	"time"
)

// ErrNoRow is what a Store returns for a missing row; the adapter over
// internal/store maps store.ErrNotFound onto it.
var ErrNoRow = errors.New("no such row")

// ErrTaken is returned when a coupling would couple a record twice.
var ErrTaken = errors.New("record is already coupled")

// CouplingQuery selects couplings.
type CouplingQuery struct {
	Mapping     string
	SkippedOnly bool
	FailedOnly  bool
	AfterID     int64
	Limit       int
	IDsOnly     bool // fill ID, Mapping, ERPID and CRMID only
}

// ErrorQuery selects sync errors, newest first.
type ErrorQuery struct {
	Mapping  string
	JobID    int64
	OpenOnly bool
	Limit    int
}

// Store is what the engine persists. internal/syncer/syncstore adapts
// internal/store.Store to it (store imports syncer, so syncer cannot
// import store).
type Store interface {
	GetCouplingByERP(ctx context.Context, mapping, erpID string) (Coupling, error)
	GetCouplingByCRM(ctx context.Context, mapping, crmID string) (Coupling, error)
	PutCoupling(ctx context.Context, c Coupling) (Coupling, error)
	PutCouplings(ctx context.Context, cs []Coupling) error
	// GetCouplings looks up a page of records at once by ERP id (side
	// SideERP) or CRM id (SideCRM); uncoupled ids are absent.
	GetCouplings(ctx context.Context, mapping, side string, ids []string) ([]Coupling, error)
	DeleteCoupling(ctx context.Context, mapping, erpID string) error
	ListCouplings(ctx context.Context, q CouplingQuery) ([]Coupling, error)
	CountCouplings(ctx context.Context, mapping string) (int, error)

	CreateJob(ctx context.Context, j Job) (Job, error)
	UpdateJob(ctx context.Context, j Job) error
	ListJobs(ctx context.Context, mapping string, limit int) ([]Job, error)

	AddErrors(ctx context.Context, es []SyncError) error
	ListErrors(ctx context.Context, q ErrorQuery) ([]SyncError, error)
	ResolveErrors(ctx context.Context, mapping, erpID, crmID string, at time.Time) error

	GetCursor(ctx context.Context, mapping, side string) (Cursor, error)
	PutCursor(ctx context.Context, c Cursor) error

	AddIntents(ctx context.Context, is []Intent) ([]Intent, error)
	ListIntents(ctx context.Context, mapping string) ([]Intent, error)
	DeleteIntents(ctx context.Context, ids []int64) error

	// Atomically runs fn with a Store whose writes commit together.
	Atomically(ctx context.Context, fn func(ctx context.Context, tx Store) error) error
}
