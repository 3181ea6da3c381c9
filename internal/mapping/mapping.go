// Package mapping describes which ERP entity is kept in step with which CRM
// table, field by field, and holds the default set as data. Mappings are
// persisted as JSON, so every rule a user can edit is a plain field here.
package mapping

import (
	"fmt"
	"time"
)

// Direction is which way data flows.
type Direction string

const (
	ToCRM         Direction = "ToCRM"
	FromCRM       Direction = "FromCRM"
	Bidirectional Direction = "Bidirectional"
)

// ToCRMAllowed reports whether data may flow from the ERP to the CRM.
func (d Direction) ToCRMAllowed() bool { return d == ToCRM || d == Bidirectional }

// FromCRMAllowed reports whether data may flow from the CRM to the ERP.
func (d Direction) FromCRMAllowed() bool { return d == FromCRM || d == Bidirectional }

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

// Kind says where a mapping's records come from.
type Kind string

const (
	// KindTable couples rows of an ERP entity set with rows of a CRM table.
	KindTable Kind = ""
	// KindOption couples rows of an ERP code table (payment terms, …) with
	// the values of a CRM choice column: the coupling's CRM id is the
	// option value, so lookups through it yield the integer to write.
	KindOption Kind = "option"
	// KindStatic couples records listed in the mapping itself (the ERP API
	// has no such entity) with CRM rows, e.g. the base price list.
	KindStatic Kind = "static"
)

// DefaultInterval is how often a mapping runs unless told otherwise (BC's 30 min).
const DefaultInterval = 30 * time.Minute

// TableMapping couples one ERP entity set with one CRM table.
type TableMapping struct {
	Name      string `json:"name"`
	Kind      Kind   `json:"kind,omitempty"`
	ERPEntity string `json:"erp_entity"` // BC API v2.0 entity set, e.g. "customers"
	CRMEntity string `json:"crm_entity"` // Dataverse logical name, e.g. "account"
	// CRMEntitySet is the Web API collection (e.g. "accounts").
	CRMEntitySet string `json:"crm_entity_set"`
	// CRMKey is the CRM primary key column (e.g. "accountid").
	CRMKey string `json:"crm_key"`
	// ERPCodeField is the ERP natural key ("number", "code"): lookups by code
	// and the reconciliation of an interrupted ERP create use it.
	ERPCodeField string `json:"erp_code_field,omitempty"`
	// ERPModified and CRMModified are the high-water-mark columns.
	ERPModified string    `json:"erp_modified,omitempty"`
	CRMModified string    `json:"crm_modified,omitempty"`
	Direction   Direction `json:"direction"`
	ERPFilter   string    `json:"erp_filter,omitempty"` // OData $filter sent to the ERP
	CRMFilter   string    `json:"crm_filter,omitempty"` // OData $filter sent to the CRM
	OnlyCoupled bool      `json:"only_coupled"`
	DependsOn   []string  `json:"depends_on,omitempty"`
	// Parent makes this a line mapping: its records are read per header of
	// the parent mapping through ParentField (e.g. "documentId").
	Parent      string       `json:"parent,omitempty"`
	ParentField string       `json:"parent_field,omitempty"`
	Conflict    ConflictRule `json:"conflict"`
	Deletion    DeletionRule `json:"deletion"`
	Interval    Duration     `json:"interval"`
	SkipAfter   int          `json:"skip_after"` // identical consecutive failures before a record is skipped; 0 = never
	Disabled    bool         `json:"disabled,omitempty"`
	// Options (KindOption): ERP code → CRM option value.
	Options map[string]int `json:"options,omitempty"`
	// Records (KindStatic): the ERP-side records, each with an "id".
	Records []map[string]any `json:"records,omitempty"`
	// Note says what a user should know (e.g. what API v2.0 does not expose).
	Note      string         `json:"note,omitempty"`
	Fields    []FieldMapping `json:"fields"`
	UpdatedAt time.Time      `json:"updated_at"`
}

// FieldMapping couples one ERP field with one CRM column. A constant has
// only the destination side set.
type FieldMapping struct {
	ERPField  string    `json:"erp_field,omitempty"`
	CRMField  string    `json:"crm_field,omitempty"`
	Direction Direction `json:"direction"`
	// Constant is written instead of a source value (JSON scalar).
	Constant any `json:"constant,omitempty"`
	// OptionMap maps an ERP value to a CRM choice value for this field only.
	OptionMap map[string]int `json:"option_map,omitempty"`
	// Lookup resolves a reference through the couplings of another mapping.
	Lookup *Lookup `json:"lookup,omitempty"`
	// Transform names a transformation of the value on its way (see Transforms).
	Transform     string `json:"transform,omitempty"`
	MatchPriority int    `json:"match_priority,omitempty"` // > 0: used for match-based coupling, lowest first
	Required      bool   `json:"required,omitempty"`       // an empty source value fails the record
	OnCreateOnly  bool   `json:"on_create_only,omitempty"` // written when the destination is created, never updated
}

// Lookup is a reference to a record of another mapping.
type Lookup struct {
	Mapping string `json:"mapping"`
	// By is the field of the referenced ERP record that this ERP field holds
	// ("" = its id; "code", "number", "displayName" = that field).
	By string `json:"by,omitempty"`
	// NavProperty is the CRM navigation property written as
	// "<nav>@odata.bind" (default: CRMField). Empty for option mappings.
	NavProperty string `json:"nav_property,omitempty"`
	// Follow "baseuom": the referenced uomschedule's base unit instead of
	// the schedule itself.
	Follow string `json:"follow,omitempty"`
	// Optional: an unresolved reference leaves the field out instead of
	// failing the record.
	Optional bool `json:"optional,omitempty"`
}

// Name says which field pair a field mapping is, for messages.
func (f FieldMapping) Name() string {
	switch {
	case f.ERPField != "" && f.CRMField != "":
		return f.ERPField + "↔" + f.CRMField
	case f.CRMField != "":
		return "constant→" + f.CRMField
	default:
		return "constant→" + f.ERPField
	}
}

// toCRM reports whether the field is written on the CRM side.
func (f FieldMapping) toCRM(m *TableMapping) bool {
	return f.CRMField != "" && f.Direction.ToCRMAllowed() && m.Direction.ToCRMAllowed()
}

// fromCRM reports whether the field is written on the ERP side.
func (f FieldMapping) fromCRM(m *TableMapping) bool {
	return f.ERPField != "" && f.Direction.FromCRMAllowed() && m.Direction.FromCRMAllowed()
}

// ERPModifiedField is the ERP high-water-mark column (default lastModifiedDateTime).
func (m *TableMapping) ERPModifiedField() string {
	if m.ERPModified != "" {
		return m.ERPModified
	}
	return "lastModifiedDateTime"
}

// CRMModifiedField is the CRM high-water-mark column (default modifiedon).
func (m *TableMapping) CRMModifiedField() string {
	if m.CRMModified != "" {
		return m.CRMModified
	}
	return "modifiedon"
}

// Schedule is how often the mapping runs.
func (m *TableMapping) Schedule() time.Duration {
	if m.Interval <= 0 {
		return DefaultInterval
	}
	return time.Duration(m.Interval)
}

// MatchFields are the field mappings used for match-based coupling, grouped
// by priority, lowest first.
func (m *TableMapping) MatchFields() [][]FieldMapping {
	byPrio := map[int][]FieldMapping{}
	var prios []int
	for _, f := range m.Fields {
		if f.MatchPriority <= 0 || f.ERPField == "" || f.CRMField == "" {
			continue
		}
		if _, ok := byPrio[f.MatchPriority]; !ok {
			prios = append(prios, f.MatchPriority)
		}
		byPrio[f.MatchPriority] = append(byPrio[f.MatchPriority], f)
	}
	sortInts(prios)
	out := make([][]FieldMapping, 0, len(prios))
	for _, p := range prios {
		out = append(out, byPrio[p])
	}
	return out
}

func sortInts(a []int) {
	for i := 1; i < len(a); i++ {
		for j := i; j > 0 && a[j] < a[j-1]; j-- {
			a[j], a[j-1] = a[j-1], a[j]
		}
	}
}

// Duration is a time.Duration persisted as a Go duration string ("30m0s")
// so that the JSON is readable and editable by hand.
type Duration time.Duration

// MarshalJSON writes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) {
	return []byte(`"` + time.Duration(d).String() + `"`), nil
}

// UnmarshalJSON accepts "30m", "1h30m" or a number of nanoseconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	s := string(b)
	if len(s) >= 2 && s[0] == '"' {
		v, err := time.ParseDuration(s[1 : len(s)-1])
		if err != nil {
			return fmt.Errorf("interval %s: %w (write e.g. \"30m\")", s, err)
		}
		*d = Duration(v)
		return nil
	}
	var n int64
	if _, err := fmt.Sscan(s, &n); err != nil {
		return fmt.Errorf("interval %s: not a duration (write e.g. \"30m\")", s)
	}
	*d = Duration(n)
	return nil
}
