package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/coupler/coupler/internal/store"
	"github.com/coupler/coupler/internal/syncer"
)

func testCoupling(t *testing.T, s store.Store) {
	c := ctx(t)
	_, err := s.GetCouplingByERP(c, "CUSTOMER", "10000")
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = s.GetCouplingByCRM(c, "CUSTOMER", "acc-1")
	require.ErrorIs(t, err, store.ErrNotFound)

	mod := time.Date(2026, 3, 4, 5, 6, 7, 123456000, time.UTC)
	in := syncer.Coupling{Mapping: "CUSTOMER", ERPID: "10000", CRMID: "acc-1", ERPModifiedAt: mod,
		LastResult: "Success", LastJobID: 7, FailCount: 0, Snapshot: `{"displayName":"Adatum"}`}
	out, err := s.PutCoupling(c, in)
	require.NoError(t, err)
	require.NotZero(t, out.ID)
	require.False(t, out.CreatedAt.IsZero())
	require.Equal(t, out.CreatedAt, out.UpdatedAt)

	got, err := s.GetCouplingByERP(c, "CUSTOMER", "10000")
	require.NoError(t, err)
	require.Equal(t, out, got)
	require.Equal(t, mod, got.ERPModifiedAt)
	require.True(t, got.CRMModifiedAt.IsZero())
	got, err = s.GetCouplingByCRM(c, "CUSTOMER", "acc-1")
	require.NoError(t, err)
	require.Equal(t, out, got)

	// Same pair again without ID: the same row is updated.
	in.LastResult, in.LastError, in.FailCount, in.Skipped = "Failure", "boom", 2, true
	again, err := s.PutCoupling(c, in)
	require.NoError(t, err)
	require.Equal(t, out.ID, again.ID)
	require.Equal(t, out.CreatedAt, again.CreatedAt)
	got, err = s.GetCouplingByERP(c, "CUSTOMER", "10000")
	require.NoError(t, err)
	require.Equal(t, "Failure", got.LastResult)
	require.Equal(t, "boom", got.LastError)
	require.Equal(t, 2, got.FailCount)
	require.True(t, got.Skipped)

	// By ID: recouple to another CRM record.
	got.CRMID, got.Skipped = "acc-2", false
	upd, err := s.PutCoupling(c, got)
	require.NoError(t, err)
	require.Equal(t, got.ID, upd.ID)
	_, err = s.GetCouplingByCRM(c, "CUSTOMER", "acc-1")
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = s.GetCouplingByCRM(c, "CUSTOMER", "acc-2")
	require.NoError(t, err)

	got.ID = 999999
	_, err = s.PutCoupling(c, got)
	require.ErrorIs(t, err, store.ErrNotFound)

	// The same ids under another mapping are another coupling.
	_, err = s.PutCoupling(c, syncer.Coupling{Mapping: "CONTACT", ERPID: "10000", CRMID: "acc-2"})
	require.NoError(t, err)
	n, err := s.CountCouplings(c, "CUSTOMER")
	require.NoError(t, err)
	require.Equal(t, 1, n)
	n, err = s.CountCouplings(c, "")
	require.NoError(t, err)
	require.Equal(t, 2, n)

	require.NoError(t, s.DeleteCoupling(c, "CUSTOMER", "10000"))
	require.ErrorIs(t, s.DeleteCoupling(c, "CUSTOMER", "10000"), store.ErrNotFound)
	_, err = s.GetCouplingByERP(c, "CUSTOMER", "10000")
	require.ErrorIs(t, err, store.ErrNotFound)

	for _, bad := range []syncer.Coupling{{ERPID: "1", CRMID: "a"}, {Mapping: "M", CRMID: "a"}, {Mapping: "M", ERPID: "1"}} {
		_, err = s.PutCoupling(c, bad)
		require.ErrorIs(t, err, store.ErrInvalid, "%+v", bad)
	}
}

func testCouplingConflicts(t *testing.T, s store.Store) {
	c := ctx(t)
	a, err := s.PutCoupling(c, syncer.Coupling{Mapping: "ITEM", ERPID: "1896-S", CRMID: "prod-a"})
	require.NoError(t, err)
	b, err := s.PutCoupling(c, syncer.Coupling{Mapping: "ITEM", ERPID: "1900-S", CRMID: "prod-b"})
	require.NoError(t, err)

	tests := []struct {
		name string
		in   syncer.Coupling
		want string
	}{
		{"ERPTakenNew", syncer.Coupling{Mapping: "ITEM", ERPID: "1896-S", CRMID: "prod-x"}, `ERP id "1896-S" is already coupled to CRM id "prod-a"`},
		{"CRMTakenNew", syncer.Coupling{Mapping: "ITEM", ERPID: "1920-S", CRMID: "prod-a"}, `CRM id "prod-a" is already coupled to ERP id "1896-S"`},
		{"CRMTakenByID", syncer.Coupling{ID: b.ID, Mapping: "ITEM", ERPID: "1900-S", CRMID: "prod-a"}, `CRM id "prod-a" is already coupled to ERP id "1896-S"`},
		{"ERPTakenByID", syncer.Coupling{ID: b.ID, Mapping: "ITEM", ERPID: "1896-S", CRMID: "prod-b"}, `ERP id "1896-S" is already coupled to CRM id "prod-a"`},
	}
	for _, tc := range tests {
		_, err := s.PutCoupling(c, tc.in)
		require.ErrorIs(t, err, store.ErrConflict, tc.name)
		require.ErrorContains(t, err, tc.want, tc.name)
	}
	got, err := s.GetCouplingByERP(c, "ITEM", "1896-S")
	require.NoError(t, err)
	require.Equal(t, a, got, "a refused write changes nothing")
}

func bulk(mapping string, from, n int, crmPrefix string) []syncer.Coupling {
	cs := make([]syncer.Coupling, n)
	mod := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range cs {
		k := from + i
		cs[i] = syncer.Coupling{Mapping: mapping, ERPID: fmt.Sprintf("E%07d", k), CRMID: fmt.Sprintf("%s%07d", crmPrefix, k),
			ERPModifiedAt: mod.Add(time.Duration(k) * time.Second), LastResult: "Success", LastJobID: 1, Snapshot: fmt.Sprintf(`{"k":%d}`, k)}
	}
	return cs
}

func testPutCouplings(t *testing.T, s store.Store) {
	c := ctx(t)
	require.NoError(t, s.PutCouplings(c, nil))
	cs := bulk("CUSTOMER", 0, 2500, "C") // crosses the 1,000-row statements
	require.NoError(t, s.PutCouplings(c, cs))
	n, err := s.CountCouplings(c, "CUSTOMER")
	require.NoError(t, err)
	require.Equal(t, 2500, n)
	first, err := s.GetCouplingByERP(c, "CUSTOMER", "E0001234")
	require.NoError(t, err)
	require.Equal(t, "C0001234", first.CRMID)
	require.Equal(t, cs[1234].ERPModifiedAt, first.ERPModifiedAt)

	// Upsert by ERP id: new CRM ids and results, same rows.
	up := bulk("CUSTOMER", 1000, 1500, "D")
	for i := range up {
		up[i].LastResult, up[i].FailCount, up[i].Skipped = "Failure", 3, i%2 == 0
	}
	require.NoError(t, s.PutCouplings(c, up))
	n, err = s.CountCouplings(c, "CUSTOMER")
	require.NoError(t, err)
	require.Equal(t, 2500, n)
	got, err := s.GetCouplingByERP(c, "CUSTOMER", "E0001234")
	require.NoError(t, err)
	require.Equal(t, first.ID, got.ID)
	require.Equal(t, first.CreatedAt, got.CreatedAt)
	require.Equal(t, "D0001234", got.CRMID)
	require.Equal(t, 3, got.FailCount)

	// Rows thought new (ID zero) among which one is coupled already, after
	// others: that one is updated, the others inserted, none twice.
	mixed := bulk("CUSTOMER", 2498, 4, "F") // E0002498 and E0002499 exist
	require.NoError(t, s.PutCouplings(c, mixed))
	n, err = s.CountCouplings(c, "CUSTOMER")
	require.NoError(t, err)
	require.Equal(t, 2502, n)
	got, err = s.GetCouplingByERP(c, "CUSTOMER", "E0002499")
	require.NoError(t, err)
	require.Equal(t, "F0002499", got.CRMID)

	// A coupling read from the store gives up its CRM id, which a new one
	// takes in the same batch.
	moved := got
	moved.CRMID = "G0002499"
	taker := bulk("CUSTOMER", 2600, 1, "X")[0]
	taker.CRMID = "F0002499"
	require.NoError(t, s.PutCouplings(c, []syncer.Coupling{moved, taker}))
	got, err = s.GetCouplingByCRM(c, "CUSTOMER", "F0002499")
	require.NoError(t, err)
	require.Equal(t, "E0002600", got.ERPID)
	got, err = s.GetCouplingByERP(c, "CUSTOMER", "E0002499")
	require.NoError(t, err)
	require.Equal(t, "G0002499", got.CRMID)
	require.Equal(t, moved.ID, got.ID)
	n, err = s.CountCouplings(c, "CUSTOMER")
	require.NoError(t, err)
	require.Equal(t, 2503, n)

	// A CRM id coupled to another ERP record: nothing of the batch is written.
	clash := bulk("CUSTOMER", 5000, 10, "N")
	clash[7].CRMID = "C0000042"
	err = s.PutCouplings(c, clash)
	require.ErrorIs(t, err, store.ErrConflict)
	require.ErrorContains(t, err, `CRM id "C0000042" is already coupled to ERP id "E0000042"`)
	n, err = s.CountCouplings(c, "CUSTOMER")
	require.NoError(t, err)
	require.Equal(t, 2503, n)
	_, err = s.GetCouplingByERP(c, "CUSTOMER", "E0005000") // before the clash in the batch
	require.ErrorIs(t, err, store.ErrNotFound)

	dup := bulk("CONTACT", 0, 3, "P")
	dup[2].ERPID = dup[0].ERPID
	require.ErrorIs(t, s.PutCouplings(c, dup), store.ErrConflict)
	dup = bulk("CONTACT", 0, 3, "P")
	dup[2].CRMID = dup[1].CRMID
	err = s.PutCouplings(c, dup)
	require.ErrorIs(t, err, store.ErrConflict)
	require.ErrorContains(t, err, dup[1].CRMID)
	bad := bulk("CONTACT", 0, 3, "P")
	bad[1].CRMID = ""
	err = s.PutCouplings(c, bad)
	require.ErrorIs(t, err, store.ErrInvalid)
	require.ErrorContains(t, err, "coupling 2 of 3")
	n, err = s.CountCouplings(c, "CONTACT")
	require.NoError(t, err)
	require.Zero(t, n)

	// Whole statements of rows thought new, two batches in a row (SQLite
	// runs them through one prepared statement), the second holding an
	// ERP id coupled already: that one is updated, the rest inserted.
	require.NoError(t, s.PutCouplings(c, bulk("CUSTOMER", 3000, 1000, "H")))
	full := bulk("CUSTOMER", 4000, 1000, "K")
	full[500].ERPID = "E0000042"
	require.NoError(t, s.PutCouplings(c, full))
	n, err = s.CountCouplings(c, "CUSTOMER")
	require.NoError(t, err)
	require.Equal(t, 2503+1000+999, n)
	got, err = s.GetCouplingByERP(c, "CUSTOMER", "E0000042")
	require.NoError(t, err)
	require.Equal(t, "K0004500", got.CRMID)
	for _, id := range []string{"E0003000", "E0003999", "E0004000", "E0004999"} {
		_, err = s.GetCouplingByERP(c, "CUSTOMER", id)
		require.NoError(t, err, id)
	}
}

// testPutCouplingValues reads back every value of new couplings written
// in chunks whose rows share their result, job, error and flags (SQLite
// binds those once per statement) and in chunks whose rows differ in each
// of them, both of the prepared statement's size and smaller.
func testPutCouplingValues(t *testing.T, s store.Store) {
	c := ctx(t)
	crmMod := time.Date(2026, 2, 3, 4, 5, 6, 789000000, time.UTC)
	varied := func(cs []syncer.Coupling) []syncer.Coupling {
		for i := range cs {
			cs[i].CRMModifiedAt = crmMod.Add(time.Duration(i) * time.Millisecond)
			cs[i].LastJobID = int64(1 + i%4)
			cs[i].FailCount = i % 3
			cs[i].Skipped = i%5 == 0
			if i%2 == 1 {
				cs[i].LastResult, cs[i].LastError = "Failure", fmt.Sprintf("error %d", i)
			}
		}
		return cs
	}
	sharedNotDefault := func(cs []syncer.Coupling) []syncer.Coupling {
		for i := range cs {
			cs[i].LastResult, cs[i].LastError, cs[i].LastJobID, cs[i].FailCount, cs[i].Skipped = "Failure", "same error", 9, 2, true
			if i%2 == 0 {
				cs[i].ERPModifiedAt = time.Time{} // no time: stored as NULL
			}
		}
		return cs
	}
	chunks := [][]syncer.Coupling{
		bulk("CUSTOMER", 0, 1000, "A"),
		varied(bulk("CUSTOMER", 1000, 1000, "B")),
		sharedNotDefault(bulk("CUSTOMER", 2000, 1000, "C")),
		sharedNotDefault(bulk("CUSTOMER", 3000, 7, "D")),
		varied(bulk("CUSTOMER", 3007, 9, "E")),
		bulk("CONTACT", 0, 1, "F"),
	}
	for _, ch := range chunks {
		require.NoError(t, s.PutCouplings(c, ch))
	}
	for _, ch := range chunks {
		for _, want := range ch {
			got, err := s.GetCouplingByERP(c, want.Mapping, want.ERPID)
			require.NoError(t, err, want.ERPID)
			require.NotZero(t, got.ID)
			require.False(t, got.CreatedAt.IsZero())
			want.ID, want.CreatedAt, want.UpdatedAt = got.ID, got.CreatedAt, got.UpdatedAt
			require.Equal(t, want, got, want.ERPID)
		}
	}
}

func testListCouplings(t *testing.T, s store.Store) {
	c := ctx(t)
	cs := bulk("CUSTOMER", 0, 25, "C")
	for i := range cs {
		if i%5 == 0 {
			cs[i].Skipped = true
		}
		if i%3 == 0 {
			cs[i].LastResult = "Failure"
		}
	}
	require.NoError(t, s.PutCouplings(c, cs))
	require.NoError(t, s.PutCouplings(c, bulk("ITEM", 0, 5, "I")))

	// Keyset paging returns every row once, in id order.
	var all []syncer.Coupling
	var after int64
	for page := 0; page < 10; page++ {
		got, err := s.ListCouplings(c, store.CouplingFilter{Mapping: "CUSTOMER", AfterID: after, Limit: 10})
		require.NoError(t, err)
		if len(got) == 0 {
			break
		}
		require.LessOrEqual(t, len(got), 10)
		all = append(all, got...)
		after = got[len(got)-1].ID
	}
	require.Len(t, all, 25)
	for i := range all {
		require.Equal(t, cs[i].ERPID, all[i].ERPID)
		if i > 0 {
			require.Greater(t, all[i].ID, all[i-1].ID)
		}
	}

	// IDsOnly pages the same rows with their ids and nothing else.
	ids, err := s.ListCouplings(c, store.CouplingFilter{Mapping: "CUSTOMER", FailedOnly: true, IDsOnly: true, AfterID: all[0].ID, Limit: 100})
	require.NoError(t, err)
	require.Len(t, ids, 8, "failed ones after the first")
	for _, got := range ids {
		whole, err := s.GetCouplingByERP(c, "CUSTOMER", got.ERPID)
		require.NoError(t, err)
		require.Equal(t, syncer.Coupling{ID: whole.ID, Mapping: "CUSTOMER", ERPID: whole.ERPID, CRMID: whole.CRMID}, got)
		require.Equal(t, "Failure", whole.LastResult)
	}

	tests := []struct {
		name string
		f    store.CouplingFilter
		want int
	}{
		{"All", store.CouplingFilter{}, 30},
		{"Mapping", store.CouplingFilter{Mapping: "ITEM"}, 5},
		{"Skipped", store.CouplingFilter{Mapping: "CUSTOMER", SkippedOnly: true}, 5},
		{"Failed", store.CouplingFilter{Mapping: "CUSTOMER", FailedOnly: true}, 9},
		{"SkippedAndFailed", store.CouplingFilter{Mapping: "CUSTOMER", SkippedOnly: true, FailedOnly: true}, 2},
		{"Limit", store.CouplingFilter{Limit: 4}, 4},
		{"Unknown", store.CouplingFilter{Mapping: "NOPE"}, 0},
	}
	for _, tc := range tests {
		got, err := s.ListCouplings(c, tc.f)
		require.NoError(t, err, tc.name)
		require.Len(t, got, tc.want, tc.name)
		require.NotNil(t, got, tc.name)
	}
	_, err = s.ListCouplings(c, store.CouplingFilter{Limit: -1})
	require.ErrorIs(t, err, store.ErrInvalid)
}

func testGetCouplings(t *testing.T, s store.Store) {
	c := ctx(t)
	const n = 1203 // more than one statement's worth of ids
	cs := make([]syncer.Coupling, n)
	for i := range cs {
		cs[i] = syncer.Coupling{Mapping: "CUSTOMER", ERPID: fmt.Sprintf("erp-%04d", i), CRMID: fmt.Sprintf("crm-%04d", i), LastResult: "Success", Snapshot: fmt.Sprintf(`{"n":%d}`, i)}
	}
	require.NoError(t, s.PutCouplings(c, cs))
	_, err := s.PutCoupling(c, syncer.Coupling{Mapping: "CONTACT", ERPID: "erp-0001", CRMID: "crm-0001"})
	require.NoError(t, err)

	var erpIDs, crmIDs []string
	for i := 0; i < n; i += 2 {
		erpIDs = append(erpIDs, cs[i].ERPID)
		crmIDs = append(crmIDs, cs[i].CRMID)
	}
	erpIDs = append(erpIDs, "missing")
	crmIDs = append(crmIDs, "missing")
	for _, tc := range []struct {
		side string
		ids  []string
	}{{syncer.SideERP, erpIDs}, {syncer.SideCRM, crmIDs}} {
		got, err := s.GetCouplings(c, "CUSTOMER", tc.side, tc.ids)
		require.NoError(t, err, tc.side)
		require.Len(t, got, (n+1)/2, tc.side)
		for _, g := range got {
			var i int
			_, err := fmt.Sscanf(g.ERPID, "erp-%04d", &i)
			require.NoError(t, err)
			require.Zero(t, i%2, "%s: only the ids asked for", tc.side)
			require.Equal(t, "CUSTOMER", g.Mapping)
			require.Equal(t, cs[i].CRMID, g.CRMID)
			require.Equal(t, cs[i].Snapshot, g.Snapshot)
			require.NotZero(t, g.ID)
		}
	}
	got, err := s.GetCouplings(c, "CONTACT", syncer.SideCRM, []string{"crm-0001", "crm-0002"})
	require.NoError(t, err)
	require.Len(t, got, 1, "another mapping's couplings are apart")
	got, err = s.GetCouplings(c, "CUSTOMER", syncer.SideERP, nil)
	require.NoError(t, err)
	require.Empty(t, got)
	_, err = s.GetCouplings(c, "CUSTOMER", "both", []string{"erp-0001"})
	require.ErrorIs(t, err, store.ErrInvalid)
}
