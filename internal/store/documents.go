package store

import "time"

// ServiceKey is a web service access key of the item availability service.
// Only Hash (hex SHA-256 of the key) is stored; Prefix (the key's first
// characters) lets an operator tell keys apart without revealing them.
type ServiceKey struct {
	ID         int64
	UserName   string // the ERP user name the CRM sends with the key
	Hash       string
	Prefix     string
	CreatedAt  time.Time
	RevokedAt  time.Time // zero while the key is valid
	LastUsedAt time.Time
}

// Document states of a CRM order or quote turned into an ERP document.
const (
	DocPending = "pending" // claimed: the ERP write may or may not have happened
	DocCreated = "created" // the ERP document exists (ERPID, ERPNumber)
	DocFailed  = "failed"  // refused (Error says why); retried when the CRM record changes or on demand
)

// Document is the exactly-once record of one CRM document (Kind "order" or
// "quote") and the ERP document made from it.
type Document struct {
	Kind       string
	CRMID      string
	CRMNumber  string
	CRMVersion string // what was last sent, e.g. a quote's row id and revision
	State      string
	ERPID      string
	ERPNumber  string
	ERPStatus  string // last ERP status reported back to the CRM
	Revision   int    // CRM quote revision last sent
	Attempts   int
	Error      string
	LeaseUntil time.Time // a pending claim is held by one worker until then
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// DocumentFilter selects documents to list.
type DocumentFilter struct {
	Kind  string
	State string // "" = all
	Limit int
}
