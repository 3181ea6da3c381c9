// Package store persists everything coupler knows behind one interface, with
// a SQLite implementation (the embedded default) and a PostgreSQL one (for
// several instances). Both pass the same conformance suite.
package store

import (
	"context"
	"errors"
	"time"

	"github.com/coupler/coupler/internal/mapping"
	"github.com/coupler/coupler/internal/setup"
	"github.com/coupler/coupler/internal/syncer"
	"github.com/coupler/coupler/internal/users"
)

// ErrNotFound is returned when a looked-up row does not exist.
var ErrNotFound = errors.New("not found")

// ErrConflict is returned when a write would break a uniqueness rule, such
// as coupling a record that is already coupled.
var ErrConflict = errors.New("conflict")

// ErrSchemaTooNew is returned at open when the database was migrated by a
// newer coupler than this binary.
var ErrSchemaTooNew = errors.New("database schema is newer than this coupler")

// Secret is one stored secret. Ciphertext is opaque to the store: the
// secret package encrypts before saving and decrypts after loading.
type Secret struct {
	Owner     string // e.g. the connection name
	Name      string // e.g. "crm_password"
	Value     []byte // ciphertext, or plaintext when Encrypted is false
	Encrypted bool
	KeyID     string
	UpdatedAt time.Time
}

// CouplingFilter selects couplings to list.
type CouplingFilter struct {
	Mapping     string
	SkippedOnly bool
	FailedOnly  bool
	AfterID     int64 // keyset paging
	Limit       int   // 0 = no limit
	// IDsOnly fills ID, Mapping, ERPID and CRMID only: a full run walks
	// every coupling to find deleted records, and the snapshots and times
	// of 100,000 couplings cost it most of a second to read.
	IDsOnly bool
}

// JobFilter selects jobs to list, newest first.
type JobFilter struct {
	Mapping string
	Limit   int
}

// ErrorFilter selects sync errors to list, newest first.
type ErrorFilter struct {
	Mapping  string
	JobID    int64
	OpenOnly bool
	Limit    int
}

// APIToken is one REST API token of a user. Only the SHA-256 of the token
// (hex) is stored; Prefix (its first characters) lets a user tell tokens
// apart without the store holding anything usable.
type APIToken struct {
	ID         int64
	UserID     int64
	Name       string
	Hash       string
	Prefix     string
	CreatedAt  time.Time
	LastUsedAt time.Time // zero until first used
}

// Store is everything coupler persists.
type Store interface {
	// Settings are small named values (e.g. encryption state).
	GetSetting(ctx context.Context, key string) (string, error)
	PutSetting(ctx context.Context, key, value string) error

	GetSecret(ctx context.Context, owner, name string) (Secret, error)
	PutSecret(ctx context.Context, s Secret) error
	ListSecrets(ctx context.Context) ([]Secret, error)
	DeleteSecret(ctx context.Context, owner, name string) error

	GetConnection(ctx context.Context, name string) (setup.ConnectionSetup, error)
	PutConnection(ctx context.Context, c setup.ConnectionSetup) error
	ListConnections(ctx context.Context) ([]setup.ConnectionSetup, error)

	GetMapping(ctx context.Context, name string) (mapping.TableMapping, error)
	PutMapping(ctx context.Context, m mapping.TableMapping) error
	ListMappings(ctx context.Context) ([]mapping.TableMapping, error)
	DeleteMapping(ctx context.Context, name string) error

	// Couplings are one-to-one per mapping: PutCoupling returns ErrConflict
	// when the ERP or CRM id is already coupled to another record.
	GetCouplingByERP(ctx context.Context, mappingName, erpID string) (syncer.Coupling, error)
	GetCouplingByCRM(ctx context.Context, mappingName, crmID string) (syncer.Coupling, error)
	PutCoupling(ctx context.Context, c syncer.Coupling) (syncer.Coupling, error)
	PutCouplings(ctx context.Context, cs []syncer.Coupling) error // bulk upsert by (mapping, erp id)
	// GetCouplings looks up many records at once by ERP id (side "erp") or
	// CRM id (side "crm"); uncoupled ids are absent from the result.
	GetCouplings(ctx context.Context, mappingName, side string, ids []string) ([]syncer.Coupling, error)
	DeleteCoupling(ctx context.Context, mappingName, erpID string) error
	ListCouplings(ctx context.Context, f CouplingFilter) ([]syncer.Coupling, error)
	CountCouplings(ctx context.Context, mappingName string) (int, error)

	CreateJob(ctx context.Context, j syncer.Job) (syncer.Job, error)
	UpdateJob(ctx context.Context, j syncer.Job) error
	GetJob(ctx context.Context, id int64) (syncer.Job, error)
	ListJobs(ctx context.Context, f JobFilter) ([]syncer.Job, error)

	AddErrors(ctx context.Context, es []syncer.SyncError) error
	ListErrors(ctx context.Context, f ErrorFilter) ([]syncer.SyncError, error)
	ResolveErrors(ctx context.Context, mappingName, erpID, crmID string, at time.Time) error

	GetCursor(ctx context.Context, mappingName, side string) (syncer.Cursor, error)
	PutCursor(ctx context.Context, c syncer.Cursor) error

	AddIntents(ctx context.Context, is []syncer.Intent) ([]syncer.Intent, error)
	ListIntents(ctx context.Context, mappingName string) ([]syncer.Intent, error)
	DeleteIntents(ctx context.Context, ids []int64) error

	CreateUser(ctx context.Context, u users.User) (users.User, error) // ErrConflict on a taken e-mail
	UpdateUser(ctx context.Context, u users.User) error
	GetUser(ctx context.Context, id int64) (users.User, error)
	GetUserByEmail(ctx context.Context, email string) (users.User, error)
	ListUsers(ctx context.Context) ([]users.User, error)

	// API tokens: GetAPITokenByHash returns ErrNotFound for an unknown
	// hash; TouchAPIToken records a use; DeleteAPIToken removes a token of
	// that user only (ErrNotFound otherwise).
	CreateAPIToken(ctx context.Context, t APIToken) (APIToken, error)
	GetAPITokenByHash(ctx context.Context, hash string) (APIToken, error)
	ListAPITokens(ctx context.Context, userID int64) ([]APIToken, error)
	TouchAPIToken(ctx context.Context, id int64, at time.Time) error
	DeleteAPIToken(ctx context.Context, userID, id int64) error

	// InTx runs fn with a Store whose writes commit together or not at all.
	InTx(ctx context.Context, fn func(ctx context.Context, tx Store) error) error

	// Ping checks that the database answers (for /readyz).
	Ping(ctx context.Context) error
	// Dialect is "sqlite" or "postgres".
	Dialect() string
	Close() error

	// Service keys of the item availability web service (hashes only).
	CreateServiceKey(ctx context.Context, k ServiceKey) (ServiceKey, error) // ErrConflict on a known hash
	ListServiceKeys(ctx context.Context) ([]ServiceKey, error)
	ActiveServiceKeys(ctx context.Context, userName string) ([]ServiceKey, error)
	RevokeServiceKey(ctx context.Context, id int64, at time.Time) error // ErrNotFound for an unknown or revoked key
	TouchServiceKey(ctx context.Context, id int64, at time.Time) error

	// Documents record CRM orders and quotes turned into ERP documents.
	// ClaimDocument takes the document for one worker until leaseUntil: it
	// creates a pending row from d, or leases the existing row (whatever its
	// state) when no other lease is running, and returns the row as it was
	// before (State "" for a new one); ErrConflict while another worker
	// holds it. PutDocument with a zero LeaseUntil releases it.
	ClaimDocument(ctx context.Context, d Document, leaseUntil time.Time) (Document, error)
	PutDocument(ctx context.Context, d Document) error
	GetDocument(ctx context.Context, kind, crmID string) (Document, error)
	ListDocuments(ctx context.Context, f DocumentFilter) ([]Document, error)
}
