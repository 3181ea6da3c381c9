package syncer

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Record is one row read from either side.
type Record struct {
	ID         string
	ModifiedAt time.Time
	ModifiedBy string // CRM: _modifiedby_value (echo suppression); ERP: empty
	ETag       string
	Fields     map[string]any
}

// ReadQuery asks a side for rows of one entity set.
type ReadQuery struct {
	Entity   string // entity set (customers, accounts)
	Key      string // primary key field (id, accountid)
	Modified string // high-water-mark field
	Filter   string // OData $filter of the mapping, "" = none
	// Since: only rows with Modified ≥ Since, ordered by Modified; zero = all.
	Since time.Time
	// Equal adds `field eq 'value'` conditions (e.g. documentId for lines).
	Equal map[string]string
	// Select, when set, asks only for these fields (the key and the
	// modification field are always added): match-based coupling reads
	// whole tables for a few fields.
	Select []string
	// SkipModifiedBy, when set, leaves out rows last modified by this user
	// (coupler's own writes coming back as echoes), so that the read after
	// a big run does not return every row that run wrote. A side that
	// cannot filter on it may return them: the engine skips them anyway.
	SkipModifiedBy string
}

// OpKind is what a write does.
type OpKind int

const (
	// OpCreate creates a row. On the CRM with ID set it is an upsert by
	// primary key (PATCH set(id)), so replaying it after a crash cannot
	// create a second row.
	OpCreate OpKind = iota
	// OpUpdate changes an existing row and fails with ErrNotFound when the
	// row is gone (If-Match: * or the ETag), so that a deletion is seen.
	OpUpdate
	// OpDelete removes a row.
	OpDelete
)

func (k OpKind) String() string {
	return [...]string{"create", "update", "delete"}[k]
}

// Op is one write in a batch.
type Op struct {
	Kind    OpKind
	ID      string // target id; empty for an ERP create
	Payload map[string]any
	IfMatch string // ETag, "" = any
}

// Result is the outcome of one Op, in the order of the ops.
type Result struct {
	ID         string // id of the written row (the new id of a create)
	ModifiedAt time.Time
	Err        error // *WriteError for an API refusal; errors.Is(err, ErrNotFound) for a gone row
}

// ErrNotFound marks a row that does not exist (deleted on that side).
var ErrNotFound = errors.New("record does not exist")

// WriteError is an API's refusal of one write, with what it said.
type WriteError struct {
	Status  int
	Code    string
	Message string
	Field   string // the field the API blamed, when it said
}

func (e *WriteError) Error() string {
	if e.Code != "" {
		return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message)
	}
	return fmt.Sprintf("%d: %s", e.Status, e.Message)
}

// Is makes a 404 answer match ErrNotFound.
func (e *WriteError) Is(target error) bool { return target == ErrNotFound && e.Status == 404 }

// Side is one of the two systems as the engine sees it. crmside and
// erpside implement it over the Dataverse and Business Central clients.
type Side interface {
	// Name is "crm" or "erp" (cursor side, messages).
	Name() string
	// Read pages through rows; fn is called once per page.
	Read(ctx context.Context, q ReadQuery, fn func(page []Record) error) error
	// Get returns the rows with these ids that exist (missing ones are absent).
	Get(ctx context.Context, entity, key string, ids []string) ([]Record, error)
	// Find returns rows matching an OData filter (small results: lookups).
	Find(ctx context.Context, entity, key, filter string) ([]Record, error)
	// Write sends ops through the API's $batch (at most MaxBatch per call)
	// and returns one Result per op; the error is for the whole call.
	Write(ctx context.Context, entity, key string, ops []Op) ([]Result, error)
	// MaxBatch is the largest batch the API accepts (1000 Dataverse, 100 BC).
	MaxBatch() int
	// Self is the id of the user coupler writes as ("" when unknown): rows
	// last modified by it are coupler's own echo.
	Self(ctx context.Context) (string, error)
}
