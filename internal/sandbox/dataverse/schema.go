package dataverse

import (
	"fmt"
	"sort"
	"strings"
)

// colType is a Dataverse attribute type (AttributeTypeCode), reduced to what changes how a
// value is stored, validated and written in JSON.
type colType uint8

const (
	tString colType = iota
	tMemo
	tInt
	tBigInt
	tDecimal
	tDouble
	tMoney
	tBool
	tDateTime
	tDateOnly
	tPicklist
	tState
	tStatus
	tLookup // also Customer, Owner and multi-table lookups (Targets > 1)
	tGUID
	tEntityName
)

var typeNames = map[colType]string{
	tString: "String", tMemo: "Memo", tInt: "Integer", tBigInt: "BigInt", tDecimal: "Decimal",
	tDouble: "Double", tMoney: "Money", tBool: "Boolean", tDateTime: "DateTime", tDateOnly: "DateTime",
	tPicklist: "Picklist", tState: "State", tStatus: "Status", tLookup: "Lookup", tGUID: "Uniqueidentifier",
	tEntityName: "EntityName",
}

// access says in which operations a column may be written.
type access uint8

const (
	accRead   access = 0
	accCreate access = 1
	accUpdate access = 2
	accCU            = accCreate | accUpdate
)

// Column is one attribute of a table.
type Column struct {
	Name    string
	Type    colType
	MaxLen  int
	Access  access
	Targets []string       // lookup targets (logical names), in navigation-property order
	Nav     []string       // navigation property per target (same order as Targets)
	Options map[int]string // Picklist/State/Status labels
	Custom  bool           // created through the metadata API
	Index   bool           // keep an equality index
	idx     int
}

// stateInfo is one statecode value with its default statuscode.
type stateInfo struct {
	Label         string
	DefaultStatus int
}

// statusInfo is one statuscode value and the state it belongs to.
type statusInfo struct {
	Label string
	State int
}

// Table is one entity: its names, columns and state model.
type Table struct {
	Logical      string
	Set          string
	Key          string
	PrimaryName  string
	TypeCode     int
	Ownership    string // "UserOwned", "OrganizationOwned", "None", "BusinessOwned"
	Custom       bool
	MetadataID   string
	AltKeys      [][]string
	States       map[int]stateInfo
	Statuses     map[int]statusInfo
	DefaultState int
	// Collections are 1:N navigation properties: name → (child table, child lookup column).
	Collections map[string]collectionNav

	cols   []*Column
	byName map[string]*Column
	nav    map[string]navRef // single-valued navigation property → column + target
}

type navRef struct {
	Col    *Column
	Target string
}

type collectionNav struct {
	Child  string
	Column string
}

// col returns the column named name, or nil.
func (t *Table) col(name string) *Column { return t.byName[name] }

// addColumn appends c, giving it the next ordinal; duplicate names are a programming error
// for built-in tables and a user error for the metadata API (checked by the caller).
func (t *Table) addColumn(c *Column) {
	if t.byName == nil {
		t.byName = map[string]*Column{}
		t.nav = map[string]navRef{}
	}
	c.idx = len(t.cols)
	t.cols = append(t.cols, c)
	t.byName[c.Name] = c
	if c.Type == tLookup {
		for i, target := range c.Targets {
			nav := c.Name
			if i < len(c.Nav) && c.Nav[i] != "" {
				nav = c.Nav[i]
			}
			if prev, ok := t.nav[nav]; ok && prev.Col == c {
				target = "" // one navigation property for several targets (ownerid): the bound URL decides
			}
			t.nav[nav] = navRef{Col: c, Target: target}
		}
	}
}

// lookupNav returns the navigation property for the column c and target table.
func (c *Column) navFor(target string) string {
	for i, t := range c.Targets {
		if t == target && i < len(c.Nav) && c.Nav[i] != "" {
			return c.Nav[i]
		}
	}
	return c.Name
}

// Schema holds every table, by logical name and by entity set name.
type Schema struct {
	tables map[string]*Table // logical name
	sets   map[string]*Table // entity set name
}

func (s *Schema) add(t *Table) error {
	if _, dup := s.tables[t.Logical]; dup {
		return fmt.Errorf("table %q already exists", t.Logical)
	}
	if _, dup := s.sets[t.Set]; dup {
		return fmt.Errorf("entity set %q already exists", t.Set)
	}
	s.tables[t.Logical] = t
	s.sets[t.Set] = t
	return nil
}

func (s *Schema) table(logical string) *Table { return s.tables[logical] }
func (s *Schema) bySet(set string) *Table     { return s.sets[set] }

func (s *Schema) sortedTables() []*Table {
	out := make([]*Table, 0, len(s.tables))
	for _, t := range s.tables {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Logical < out[j].Logical })
	return out
}

// lookupValueName is the read name of a lookup column: _x_value.
func lookupValueName(col string) string { return "_" + col + "_value" }

// columnForRead maps a name used in $select/$filter/$orderby to a column: lookups are read
// as _x_value, everything else by its logical name.
func (t *Table) columnForRead(name string) *Column {
	if strings.HasPrefix(name, "_") && strings.HasSuffix(name, "_value") {
		c := t.byName[strings.TrimSuffix(strings.TrimPrefix(name, "_"), "_value")]
		if c != nil && c.Type == tLookup {
			return c
		}
		return nil
	}
	c := t.byName[name]
	if c != nil && c.Type == tLookup {
		return nil // a lookup must be read as _x_value
	}
	return c
}

func (c *Column) readName() string {
	if c.Type == tLookup {
		return lookupValueName(c.Name)
	}
	return c.Name
}
