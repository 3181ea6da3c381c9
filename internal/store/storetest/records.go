package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/coupler/coupler/internal/store"
	"github.com/coupler/coupler/internal/syncer"
	"github.com/coupler/coupler/internal/users"
)

func testJobs(t *testing.T, s store.Store) {
	c := ctx(t)
	_, err := s.GetJob(c, 42)
	require.ErrorIs(t, err, store.ErrNotFound)

	j, err := s.CreateJob(c, syncer.Job{Mapping: "CUSTOMER", Trigger: "schedule"})
	require.NoError(t, err)
	require.NotZero(t, j.ID)
	require.Equal(t, "running", j.Status)
	require.False(t, j.StartedAt.IsZero())

	j.Status, j.Message = "succeeded", "done"
	j.FinishedAt = j.StartedAt.Add(1500 * time.Millisecond)
	j.Counts = syncer.Counts{Inserted: 1, Modified: 2, Deleted: 3, Unchanged: 4, Skipped: 5, Failed: 6, Coupled: 7, Uncoupled: 8}
	require.NoError(t, s.UpdateJob(c, j))
	got, err := s.GetJob(c, j.ID)
	require.NoError(t, err)
	require.Equal(t, j, got)

	j2, err := s.CreateJob(c, syncer.Job{Mapping: "ITEM", Trigger: "manual", StartedAt: time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)})
	require.NoError(t, err)
	j3, err := s.CreateJob(c, syncer.Job{Mapping: "CUSTOMER", Trigger: "full"})
	require.NoError(t, err)

	list, err := s.ListJobs(c, store.JobFilter{})
	require.NoError(t, err)
	require.Equal(t, []int64{j3.ID, j2.ID, j.ID}, jobIDs(list), "newest first")
	list, err = s.ListJobs(c, store.JobFilter{Mapping: "CUSTOMER", Limit: 1})
	require.NoError(t, err)
	require.Equal(t, []int64{j3.ID}, jobIDs(list))

	require.ErrorIs(t, s.UpdateJob(c, syncer.Job{ID: 999999, Status: "failed"}), store.ErrNotFound)
	_, err = s.CreateJob(c, syncer.Job{})
	require.ErrorIs(t, err, store.ErrInvalid)
}

func jobIDs(js []syncer.Job) []int64 {
	var ids []int64
	for _, j := range js {
		ids = append(ids, j.ID)
	}
	return ids
}

func testErrors(t *testing.T, s store.Store) {
	c := ctx(t)
	j, err := s.CreateJob(c, syncer.Job{Mapping: "CUSTOMER", Trigger: "manual"})
	require.NoError(t, err)
	in := []syncer.SyncError{
		{JobID: j.ID, Mapping: "CUSTOMER", Direction: "ToCRM", ERPID: "10000", Field: "name", Code: "Required", Message: "name is empty", Payload: `{"a":1}`},
		{JobID: j.ID, Mapping: "CUSTOMER", Direction: "FromCRM", CRMID: "acc-9", Code: "0x80040237", Message: "duplicate"},
		{Mapping: "ITEM", Direction: "ToCRM", ERPID: "1896-S", Message: "outside a run"},
	}
	require.NoError(t, s.AddErrors(c, in))
	require.NoError(t, s.AddErrors(c, nil))

	all, err := s.ListErrors(c, store.ErrorFilter{})
	require.NoError(t, err)
	require.Len(t, all, 3)
	require.Equal(t, "ITEM", all[0].Mapping, "newest first")
	require.Zero(t, all[0].JobID)
	got := all[2]
	require.NotZero(t, got.ID)
	require.False(t, got.CreatedAt.IsZero())
	require.True(t, got.ResolvedAt.IsZero())
	in[0].ID, in[0].CreatedAt = got.ID, got.CreatedAt
	require.Equal(t, in[0], got)

	byJob, err := s.ListErrors(c, store.ErrorFilter{JobID: j.ID})
	require.NoError(t, err)
	require.Len(t, byJob, 2)
	limited, err := s.ListErrors(c, store.ErrorFilter{Mapping: "CUSTOMER", Limit: 1})
	require.NoError(t, err)
	require.Len(t, limited, 1)
	require.Equal(t, "acc-9", limited[0].CRMID)

	at := time.Date(2026, 7, 1, 12, 0, 0, 0, time.UTC)
	require.NoError(t, s.ResolveErrors(c, "CUSTOMER", "10000", "", at))
	require.NoError(t, s.ResolveErrors(c, "CUSTOMER", "", "acc-unknown", time.Time{}))
	open, err := s.ListErrors(c, store.ErrorFilter{Mapping: "CUSTOMER", OpenOnly: true})
	require.NoError(t, err)
	require.Len(t, open, 1)
	require.Equal(t, "acc-9", open[0].CRMID)
	closed, err := s.ListErrors(c, store.ErrorFilter{Mapping: "CUSTOMER"})
	require.NoError(t, err)
	require.Equal(t, at, closed[1].ResolvedAt)
	require.NoError(t, s.ResolveErrors(c, "CUSTOMER", "", "acc-9", time.Time{}))
	open, err = s.ListErrors(c, store.ErrorFilter{OpenOnly: true})
	require.NoError(t, err)
	require.Len(t, open, 1)
	require.Equal(t, "ITEM", open[0].Mapping)

	require.ErrorIs(t, s.ResolveErrors(c, "CUSTOMER", "", "", at), store.ErrInvalid)
	require.ErrorIs(t, s.AddErrors(c, []syncer.SyncError{{Message: "no mapping"}}), store.ErrInvalid)
	err = s.AddErrors(c, []syncer.SyncError{{Mapping: "ITEM", ERPID: "ok"}, {JobID: 999999, Mapping: "ITEM", ERPID: "x"}})
	require.ErrorIs(t, err, store.ErrNotFound)
	require.ErrorContains(t, err, "job 999999")
	all, err = s.ListErrors(c, store.ErrorFilter{})
	require.NoError(t, err)
	require.Len(t, all, 3, "a refused batch writes nothing")
}

func testCursors(t *testing.T, s store.Store) {
	c := ctx(t)
	_, err := s.GetCursor(c, "CUSTOMER", "erp")
	require.ErrorIs(t, err, store.ErrNotFound)
	require.NoError(t, s.PutCursor(c, syncer.Cursor{Mapping: "CUSTOMER", Side: "erp", Value: "2026-01-01T00:00:00Z"}))
	require.NoError(t, s.PutCursor(c, syncer.Cursor{Mapping: "CUSTOMER", Side: "crm", Value: "https://x/delta?token=1"}))
	require.NoError(t, s.PutCursor(c, syncer.Cursor{Mapping: "CUSTOMER", Side: "erp", Value: "2026-02-01T00:00:00Z"}))
	got, err := s.GetCursor(c, "CUSTOMER", "erp")
	require.NoError(t, err)
	require.Equal(t, "2026-02-01T00:00:00Z", got.Value)
	require.Equal(t, "CUSTOMER", got.Mapping)
	require.Equal(t, "erp", got.Side)
	require.False(t, got.UpdatedAt.IsZero())
	got, err = s.GetCursor(c, "CUSTOMER", "crm")
	require.NoError(t, err)
	require.Equal(t, "https://x/delta?token=1", got.Value)

	err = s.PutCursor(c, syncer.Cursor{Mapping: "CUSTOMER", Side: "left"})
	require.ErrorIs(t, err, store.ErrInvalid)
	require.ErrorContains(t, err, `"left"`)
	require.ErrorIs(t, s.PutCursor(c, syncer.Cursor{Side: "erp"}), store.ErrInvalid)
}

func testIntents(t *testing.T, s store.Store) {
	c := ctx(t)
	none, err := s.ListIntents(c, "CUSTOMER")
	require.NoError(t, err)
	require.Empty(t, none)

	in := []syncer.Intent{
		{Mapping: "CUSTOMER", Direction: "ToCRM", SourceID: "10000", TargetID: "acc-1", Op: "create", Payload: `{"name":"Adatum"}`},
		{Mapping: "CUSTOMER", Direction: "ToCRM", SourceID: "20000", TargetID: "acc-2", Op: "update"},
		{Mapping: "ITEM", Direction: "FromCRM", SourceID: "p-1", Op: "delete"},
	}
	out, err := s.AddIntents(c, in)
	require.NoError(t, err)
	require.Len(t, out, 3)
	for i := range out {
		require.NotZero(t, out[i].ID)
		require.False(t, out[i].CreatedAt.IsZero())
		in[i].ID, in[i].CreatedAt = out[i].ID, out[i].CreatedAt
	}
	require.Equal(t, in, out)
	require.Less(t, out[0].ID, out[1].ID)

	list, err := s.ListIntents(c, "CUSTOMER")
	require.NoError(t, err)
	require.Equal(t, in[:2], list)

	require.NoError(t, s.DeleteIntents(c, []int64{out[0].ID, 999999}))
	require.NoError(t, s.DeleteIntents(c, []int64{out[0].ID}), "deleting again is harmless")
	require.NoError(t, s.DeleteIntents(c, nil))
	list, err = s.ListIntents(c, "CUSTOMER")
	require.NoError(t, err)
	require.Equal(t, in[1:2], list)

	_, err = s.AddIntents(c, []syncer.Intent{{Mapping: "X"}})
	require.ErrorIs(t, err, store.ErrInvalid)

	// More than one statement's worth: each intent gets its own row's ID.
	bulk := make([]syncer.Intent, 1500)
	for i := range bulk {
		bulk[i] = syncer.Intent{Mapping: "BULK", Direction: "ToCRM", SourceID: fmt.Sprintf("s-%04d", i), TargetID: fmt.Sprintf("t-%04d", i), Op: "create"}
	}
	out, err = s.AddIntents(c, bulk)
	require.NoError(t, err)
	list, err = s.ListIntents(c, "BULK")
	require.NoError(t, err)
	require.Equal(t, out, list)
}

func testUsers(t *testing.T, s store.Store) {
	c := ctx(t)
	_, err := s.GetUser(c, 1)
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = s.GetUserByEmail(c, "a@contoso.com")
	require.ErrorIs(t, err, store.ErrNotFound)

	a, err := s.CreateUser(c, users.User{Email: "Admin@Contoso.com", Name: "Admin", Role: users.RoleAdmin, PasswordHash: "argon2id$…"})
	require.NoError(t, err)
	require.NotZero(t, a.ID)
	b, err := s.CreateUser(c, users.User{Email: "viewer@contoso.com", Role: users.RoleViewer, Disabled: true})
	require.NoError(t, err)

	_, err = s.CreateUser(c, users.User{Email: "admin@contoso.COM"})
	require.ErrorIs(t, err, store.ErrConflict)
	require.ErrorContains(t, err, "admin@contoso.COM")

	got, err := s.GetUserByEmail(c, "ADMIN@contoso.com")
	require.NoError(t, err)
	require.Equal(t, a, got)
	got, err = s.GetUser(c, b.ID)
	require.NoError(t, err)
	require.Equal(t, b, got)

	b.Name, b.CRMUserID, b.Disabled, b.Role = "Viewer", "sysuser-1", false, users.RoleOperator
	require.NoError(t, s.UpdateUser(c, b))
	got, err = s.GetUser(c, b.ID)
	require.NoError(t, err)
	require.Equal(t, "sysuser-1", got.CRMUserID)
	require.Equal(t, users.RoleOperator, got.Role)
	require.False(t, got.Disabled)
	require.Equal(t, b.CreatedAt, got.CreatedAt)

	b.Email = "admin@contoso.com"
	require.ErrorIs(t, s.UpdateUser(c, b), store.ErrConflict)
	require.ErrorIs(t, s.UpdateUser(c, users.User{ID: 999999, Email: "x@y.z"}), store.ErrNotFound)
	_, err = s.CreateUser(c, users.User{Name: "no mail"})
	require.ErrorIs(t, err, store.ErrInvalid)

	list, err := s.ListUsers(c)
	require.NoError(t, err)
	require.Len(t, list, 2)
	require.Equal(t, a.ID, list[0].ID)
}
