// Package mapping describes which ERP entity is kept in step with which CRM
// table, field by field, and holds the default set as data.
package mapping

import "time"

// Direction is which way data flows.
type Direction string

const (
	ToCRM         Direction = "ToCRM"
	FromCRM       Direction = "FromCRM"
	Bidirectional Direction = "Bidirectional"
)

// ConflictRule decides when both sides changed since the last sync.
type ConflictRule string

const (
	ConflictFail  ConflictRule = "Fail"
	ConflictERP   ConflictRule = "ERPWins"
	ConflictCRM   ConflictRule = "CRMWins"
	ConflictMerge ConflictRule = "Merge"
)

// DeletionRule decides when a coupled record is gone on one side.
type DeletionRule string

const (
	DeletionFail     DeletionRule = "Fail"
	DeletionRestore  DeletionRule = "Restore"
	DeletionUncouple DeletionRule = "RemoveCoupling"
)

// TableMapping couples one ERP entity set with one CRM table.
type TableMapping struct {
	Name        string         `json:"name"`
	ERPEntity   string         `json:"erp_entity"`
	CRMEntity   string         `json:"crm_entity"`
	Direction   Direction      `json:"direction"`
	ERPFilter   string         `json:"erp_filter,omitempty"`
	CRMFilter   string         `json:"crm_filter,omitempty"`
	OnlyCoupled bool           `json:"only_coupled"`
	DependsOn   []string       `json:"depends_on,omitempty"`
	Parent      string         `json:"parent,omitempty"` // lines belong to a header mapping
	Conflict    ConflictRule   `json:"conflict"`
	Deletion    DeletionRule   `json:"deletion"`
	Interval    time.Duration  `json:"interval"`
	SkipAfter   int            `json:"skip_after"` // identical consecutive failures before a record is skipped
	Disabled    bool           `json:"disabled,omitempty"`
	Fields      []FieldMapping `json:"fields"`
	UpdatedAt   time.Time      `json:"updated_at"`
}

// FieldMapping couples one ERP field with one CRM column.
type FieldMapping struct {
	ERPField      string            `json:"erp_field,omitempty"`
	CRMField      string            `json:"crm_field,omitempty"`
	Direction     Direction         `json:"direction"`
	Constant      string            `json:"constant,omitempty"`   // value written instead of a source field
	OptionMap     map[string]string `json:"option_map,omitempty"` // ERP code → CRM option value
	Transform     string            `json:"transform,omitempty"`  // named transformation
	MatchPriority int               `json:"match_priority,omitempty"`
	Required      bool              `json:"required,omitempty"`
}
