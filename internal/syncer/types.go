// Package syncer is the synchronisation engine: it detects changes on both
// sides, couples records, resolves conflicts, writes in batches and records
// every run and every failure.
package syncer

import "time"

// Coupling is one ERP record kept in step with one CRM record under a mapping.
// A record is coupled at most once per mapping on each side.
type Coupling struct {
	ID            int64
	Mapping       string
	ERPID         string
	CRMID         string
	ERPModifiedAt time.Time // source modification time at the last successful sync
	CRMModifiedAt time.Time
	LastResult    string // "Success" or "Failure"
	LastJobID     int64
	LastError     string
	FailCount     int  // consecutive failures with the same error
	Skipped       bool // excluded from sync until restored
	// Snapshot is the JSON of the ERP-side values of the mapped fields at
	// the last successful sync: what field-level merge compares against.
	// (New field: the store must persist it for the Merge rule to work.)
	Snapshot  string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Counts are what one run did.
type Counts struct {
	Inserted  int `json:"inserted"`
	Modified  int `json:"modified"`
	Deleted   int `json:"deleted"`
	Unchanged int `json:"unchanged"`
	Skipped   int `json:"skipped"`
	Failed    int `json:"failed"`
	Coupled   int `json:"coupled"`
	Uncoupled int `json:"uncoupled"`
}

// Job is one run of one mapping.
type Job struct {
	ID         int64
	Mapping    string
	Trigger    string // "schedule", "manual", "full", "record", "retry"
	Status     string // "running", "succeeded", "failed", "cancelled"
	StartedAt  time.Time
	FinishedAt time.Time
	Counts     Counts
	Message    string
}

// SyncError is one record that failed in a run, with everything needed to
// understand and fix it.
type SyncError struct {
	ID         int64
	JobID      int64
	Mapping    string
	Direction  string // "ToCRM" or "FromCRM"
	ERPID      string
	CRMID      string
	Field      string
	Code       string
	Message    string
	Payload    string
	CreatedAt  time.Time
	ResolvedAt time.Time // zero while open
}

// Cursor is a high-water mark of one mapping on one side ("erp" or "crm").
type Cursor struct {
	Mapping   string
	Side      string
	Value     string // RFC 3339 time or a delta link
	UpdatedAt time.Time
}

// Intent is a write announced before it is sent, so that a crash between
// the write and its coupling is reconciled on restart instead of repeated.
type Intent struct {
	ID        int64
	Mapping   string
	Direction string
	SourceID  string
	TargetID  string // known in advance for deterministic creates
	Op        string // "create", "update", "delete"
	Payload   string
	CreatedAt time.Time
}
