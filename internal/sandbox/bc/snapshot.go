package bc

import (
	"encoding/gob"
	"fmt"
	"io"
	"maps"
)

// snapshot is the persisted form of the company: every live row of every table and the
// counters that keep numbers, entries and ETags unique after a reload.
type snapshot struct {
	Version        int
	CompanyID      string
	Tables         map[string][]snapRow
	Series         map[string]int64
	NextEntry      int64
	PrimaryContact map[string]string
	ContactOf      map[string]string
	ETagVersion    uint64
	Resources      map[string]resource // absent from older snapshots: the seeded ones stay
}

type snapRow struct {
	ID   string
	Vals []any
	Mod  int64
	Ver  uint64
}

const snapshotVersion = 1

// SaveSnapshot writes the company's data (gob) so a later simulator can continue from it.
func (s *Server) SaveSnapshot(w io.Writer) error {
	c := s.company
	c.mu.RLock()
	defer c.mu.RUnlock()
	snap := snapshot{Version: snapshotVersion, CompanyID: c.id, Tables: map[string][]snapRow{},
		Series: maps.Clone(c.series), NextEntry: c.nextEntry, PrimaryContact: c.primaryContact, ContactOf: c.contactOf, ETagVersion: s.ver.Load(),
		Resources: maps.Clone(c.resources)}
	for name, t := range c.tables {
		rows := make([]snapRow, 0, len(t.rows))
		for _, r := range t.sorted() {
			if !r.deleted {
				rows = append(rows, snapRow{ID: r.id, Vals: r.vals, Mod: r.mod, Ver: r.ver})
			}
		}
		snap.Tables[name] = rows
	}
	if err := gob.NewEncoder(w).Encode(&snap); err != nil {
		return fmt.Errorf("bc: writing snapshot: %w", err)
	}
	return nil
}

// LoadSnapshot replaces the company's data with a snapshot written by SaveSnapshot.
func (s *Server) LoadSnapshot(r io.Reader) error {
	var snap snapshot
	if err := gob.NewDecoder(r).Decode(&snap); err != nil {
		return fmt.Errorf("bc: reading snapshot: %w", err)
	}
	if snap.Version != snapshotVersion {
		return fmt.Errorf("bc: snapshot version %d is not supported (want %d)", snap.Version, snapshotVersion)
	}
	c := s.company
	if snap.CompanyID != c.id {
		return fmt.Errorf("bc: snapshot is of company %s, this simulator serves %s", snap.CompanyID, c.id)
	}
	fresh := newCompany(s.sets, c.id, c.name, s.clock, &s.ver)
	for name, rows := range snap.Tables {
		t, ok := fresh.tables[name]
		if !ok {
			return fmt.Errorf("bc: snapshot has unknown entity set %q", name)
		}
		t.reserve(len(rows))
		for i, sr := range rows {
			if len(sr.Vals) != len(t.set.fields) {
				return fmt.Errorf("bc: snapshot row %d of %s has %d fields, want %d", i, name, len(sr.Vals), len(t.set.fields))
			}
			t.add(&row{id: sr.ID, vals: sr.Vals, mod: sr.Mod, ver: sr.Ver})
		}
	}
	le := fresh.tables["itemLedgerEntries"]
	for _, r := range le.rows {
		fresh.inventory[le.str(r, "itemNumber")] += le.num(r, "quantity")
	}
	inv := fresh.tables["salesInvoices"]
	for _, r := range inv.rows {
		fresh.balance[inv.str(r, "customerId")] += inv.num(r, "remainingAmount")
	}
	fresh.series, fresh.nextEntry, fresh.lcy = snap.Series, snap.NextEntry, c.lcy
	if snap.PrimaryContact != nil {
		fresh.primaryContact = snap.PrimaryContact
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if v := s.ver.Load(); v < snap.ETagVersion {
		s.ver.Store(snap.ETagVersion)
	}
	c.tables, c.inventory, c.series, c.nextEntry, c.primaryContact = fresh.tables, fresh.inventory, fresh.series, fresh.nextEntry, fresh.primaryContact
	c.balance = fresh.balance
	if snap.ContactOf != nil {
		c.contactOf = snap.ContactOf
	}
	if snap.Resources != nil {
		c.resources = snap.Resources
	}
	ct := c.tables["customers"]
	ct.computed = map[int]func(*row) any{ct.set.index["balanceDue"]: func(r *row) any { return round2(c.balance[r.id]) }}
	// the items' inventory FlowField must read this company's totals
	itemsT := c.tables["items"]
	numPos := itemsT.set.index["number"]
	itemsT.computed = map[int]func(*row) any{itemsT.set.index["inventory"]: func(r *row) any {
		n, _ := r.vals[numPos].(string)
		return round4(c.inventory[n])
	}}
	return nil
}
