package storetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/coupler/coupler/internal/store"
)

func testServiceKeys(t *testing.T, s store.Store) {
	c := ctx(t)
	k1, err := s.CreateServiceKey(c, store.ServiceKey{UserName: "ADMIN", Hash: "h1", Prefix: "abc"})
	require.NoError(t, err)
	require.NotZero(t, k1.ID)
	_, err = s.CreateServiceKey(c, store.ServiceKey{UserName: "OTHER", Hash: "h1", Prefix: "abc"})
	require.ErrorIs(t, err, store.ErrConflict)
	_, err = s.CreateServiceKey(c, store.ServiceKey{UserName: "", Hash: "h3"})
	require.ErrorIs(t, err, store.ErrInvalid)
	k2, err := s.CreateServiceKey(c, store.ServiceKey{UserName: "ADMIN", Hash: "h2", Prefix: "def"})
	require.NoError(t, err)

	act, err := s.ActiveServiceKeys(c, "ADMIN")
	require.NoError(t, err)
	require.Len(t, act, 2)
	require.Equal(t, "h1", act[0].Hash)

	require.NoError(t, s.TouchServiceKey(c, k2.ID, time.Now()))
	require.NoError(t, s.RevokeServiceKey(c, k1.ID, time.Now()))
	require.ErrorIs(t, s.RevokeServiceKey(c, k1.ID, time.Now()), store.ErrNotFound, "revoking twice")
	require.ErrorIs(t, s.RevokeServiceKey(c, 999999, time.Now()), store.ErrNotFound)

	act, err = s.ActiveServiceKeys(c, "ADMIN")
	require.NoError(t, err)
	require.Len(t, act, 1)
	require.Equal(t, k2.ID, act[0].ID)
	require.False(t, act[0].LastUsedAt.IsZero())

	all, err := s.ListServiceKeys(c)
	require.NoError(t, err)
	require.Len(t, all, 2)
	require.False(t, all[0].RevokedAt.IsZero())
}

func testDocuments(t *testing.T, s store.Store) {
	c := ctx(t)
	_, err := s.GetDocument(c, "order", "o1")
	require.ErrorIs(t, err, store.ErrNotFound)

	lease := time.Now().Add(time.Minute)
	prev, err := s.ClaimDocument(c, store.Document{Kind: "order", CRMID: "o1", CRMNumber: "ORD-1"}, lease)
	require.NoError(t, err)
	require.Empty(t, prev.State, "a new document has no previous state")

	_, err = s.ClaimDocument(c, store.Document{Kind: "order", CRMID: "o1"}, lease)
	require.ErrorIs(t, err, store.ErrConflict, "a held lease refuses a second claim")

	got, err := s.GetDocument(c, "order", "o1")
	require.NoError(t, err)
	require.Equal(t, store.DocPending, got.State)
	require.Equal(t, "ORD-1", got.CRMNumber)
	require.WithinDuration(t, lease, got.LeaseUntil, time.Millisecond)

	// Finished: created, lease released; a later claim sees "created".
	got.State, got.ERPID, got.ERPNumber, got.LeaseUntil, got.Attempts, got.CRMVersion = store.DocCreated, "e1", "101001", time.Time{}, 1, "o1#0"
	require.NoError(t, s.PutDocument(c, got))
	prev, err = s.ClaimDocument(c, store.Document{Kind: "order", CRMID: "o1"}, lease)
	require.NoError(t, err)
	require.Equal(t, store.DocCreated, prev.State)
	require.Equal(t, "101001", prev.ERPNumber)
	require.Equal(t, 1, prev.Attempts)
	require.Equal(t, "o1#0", prev.CRMVersion)

	// An expired lease can be taken over (a crashed worker).
	_, err = s.ClaimDocument(c, store.Document{Kind: "quote", CRMID: "q1"}, time.Now().Add(-time.Second))
	require.NoError(t, err)
	_, err = s.ClaimDocument(c, store.Document{Kind: "quote", CRMID: "q1"}, lease)
	require.NoError(t, err)

	require.NoError(t, s.PutDocument(c, store.Document{Kind: "order", CRMID: "o2", State: store.DocFailed, Error: "uncoupled"}))
	require.ErrorIs(t, s.PutDocument(c, store.Document{Kind: "order", CRMID: "o3"}), store.ErrInvalid)

	all, err := s.ListDocuments(c, store.DocumentFilter{Kind: "order"})
	require.NoError(t, err)
	require.Len(t, all, 2)
	failed, err := s.ListDocuments(c, store.DocumentFilter{Kind: "order", State: store.DocFailed})
	require.NoError(t, err)
	require.Len(t, failed, 1)
	require.Equal(t, "uncoupled", failed[0].Error)
}
