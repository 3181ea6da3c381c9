package storetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/coupler/coupler/internal/store"
	"github.com/coupler/coupler/internal/users"
)

func testAPITokens(t *testing.T, s store.Store) {
	c := ctx(t)
	u, err := s.CreateUser(c, users.User{Email: "tok@example.com", Name: "Tok", Role: users.RoleOperator, PasswordHash: "x"})
	require.NoError(t, err)
	other, err := s.CreateUser(c, users.User{Email: "other@example.com", Name: "Other", Role: users.RoleViewer, PasswordHash: "x"})
	require.NoError(t, err)

	_, err = s.CreateAPIToken(c, store.APIToken{UserID: u.ID, Name: "ci"})
	require.ErrorIs(t, err, store.ErrInvalid, "a token without hash is refused")

	tok, err := s.CreateAPIToken(c, store.APIToken{UserID: u.ID, Name: "ci", Hash: "h1", Prefix: "cpl_ab"})
	require.NoError(t, err)
	require.NotZero(t, tok.ID)
	_, err = s.CreateAPIToken(c, store.APIToken{UserID: other.ID, Name: "dup", Hash: "h1"})
	require.ErrorIs(t, err, store.ErrConflict)

	got, err := s.GetAPITokenByHash(c, "h1")
	require.NoError(t, err)
	require.Equal(t, u.ID, got.UserID)
	require.Equal(t, "cpl_ab", got.Prefix)
	require.True(t, got.LastUsedAt.IsZero())
	_, err = s.GetAPITokenByHash(c, "nope")
	require.ErrorIs(t, err, store.ErrNotFound)

	at := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	require.NoError(t, s.TouchAPIToken(c, tok.ID, at))
	list, err := s.ListAPITokens(c, u.ID)
	require.NoError(t, err)
	require.Len(t, list, 1)
	require.True(t, at.Equal(list[0].LastUsedAt))
	none, err := s.ListAPITokens(c, other.ID)
	require.NoError(t, err)
	require.Empty(t, none)

	require.ErrorIs(t, s.DeleteAPIToken(c, other.ID, tok.ID), store.ErrNotFound, "another user cannot delete the token")
	require.NoError(t, s.DeleteAPIToken(c, u.ID, tok.ID))
	_, err = s.GetAPITokenByHash(c, "h1")
	require.ErrorIs(t, err, store.ErrNotFound)
}
