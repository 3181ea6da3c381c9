package users_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/coupler/coupler/internal/dataverse"
	"github.com/coupler/coupler/internal/sandbox"
	"github.com/coupler/coupler/internal/users"
)

var errNoUser = errors.New("no such user")

// memStore is the users.Store contract in memory.
type memStore struct {
	mu   sync.Mutex
	rows []users.User
}

func (m *memStore) CreateUser(_ context.Context, u users.User) (users.User, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	u.ID = int64(len(m.rows) + 1)
	m.rows = append(m.rows, u)
	return u, nil
}

func (m *memStore) UpdateUser(_ context.Context, u users.User) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := range m.rows {
		if m.rows[i].ID == u.ID {
			m.rows[i] = u
			return nil
		}
	}
	return errNoUser
}

func (m *memStore) GetUser(_ context.Context, id int64) (users.User, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, u := range m.rows {
		if u.ID == id {
			return u, nil
		}
	}
	return users.User{}, errNoUser
}

func (m *memStore) GetUserByEmail(_ context.Context, email string) (users.User, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, u := range m.rows {
		if strings.EqualFold(u.Email, email) {
			return u, nil
		}
	}
	return users.User{}, errNoUser
}

func (m *memStore) ListUsers(context.Context) ([]users.User, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]users.User(nil), m.rows...), nil
}

type fixture struct {
	svc   *users.Service
	crm   *dataverse.Client // as the integration user
	admin *dataverse.Client
	r     sandbox.Ready
}

func setup(t *testing.T) fixture {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	sb, err := sandbox.Start(ctx, sandbox.Options{Seed: "demo", Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	t.Cleanup(func() { sb.Close() })
	r := sb.Ready()
	dial := func(user, pw string) *dataverse.Client {
		cs := dataverse.ConnectionString{AuthType: dataverse.AuthOAuth, URL: r.CRMURL, UserName: user, Password: pw,
			ClientID: dataverse.DefaultPublicClientID, RedirectURI: "app://x", LoginPrompt: dataverse.LoginPromptNever}
		c, err := dataverse.New(ctx, dataverse.Config{Conn: &cs, TokenURL: r.TokenURL})
		require.NoError(t, err)
		return c
	}
	return fixture{
		svc: users.NewService(&memStore{}, slog.New(slog.DiscardHandler), users.KDF{Memory: 64, Time: 1, Threads: 1}),
		crm: dial(r.IntegrationUser, r.IntegrationPassword), admin: dial(r.CRMAdminUser, r.CRMAdminPassword), r: r,
	}
}

func TestMappingAndImpersonationAgainstSandbox(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	// Jim Olive is JO@contoso.com in the CRM: coupler lower-cases e-mails, the match must not care.
	jo, err := f.svc.Create(ctx, "jo@contoso.com", "Jim", users.RoleOperator, "a long password 1")
	require.NoError(t, err)
	stranger, err := f.svc.Create(ctx, "nobody@example.com", "", users.RoleOperator, "a long password 2")
	require.NoError(t, err)

	maps, err := f.svc.MapAll(ctx, users.CRMDirectory{Client: f.crm})
	require.NoError(t, err)
	require.Len(t, maps, 2)
	require.Nil(t, maps[0].Problem)
	require.True(t, maps[0].Changed)
	require.Equal(t, "Jim Olive", maps[0].CRMUser.FullName)
	require.NotNil(t, maps[1].Problem)
	require.Contains(t, maps[1].Problem.Reason, "no CRM user has the primary e-mail nobody@example.com")
	jo, err = f.svc.Get(ctx, jo.ID)
	require.NoError(t, err)
	require.Equal(t, maps[0].CRMUser.ID, jo.CRMUserID)
	stranger, err = f.svc.Get(ctx, stranger.ID)
	require.NoError(t, err)
	require.Empty(t, stranger.CRMUserID)

	// A second run changes nothing.
	again, err := f.svc.MapAll(ctx, users.CRMDirectory{Client: f.crm})
	require.NoError(t, err)
	require.False(t, again[0].Changed)

	var acct struct{ ID string }
	for rec, err := range f.crm.All(ctx, "accounts", dataverse.Query{Select: []string{"accountid"}, Top: 1}) {
		require.NoError(t, err)
		acct.ID = rec.String("accountid")
	}
	require.NotEmpty(t, acct.ID)
	who, err := f.crm.WhoAmI(ctx)
	require.NoError(t, err)

	modifiedBy := func() (by, onBehalf string) {
		rec, err := f.admin.Retrieve(ctx, "accounts", dataverse.ID(acct.ID), "_modifiedby_value", "_modifiedonbehalfby_value")
		require.NoError(t, err)
		return strings.ToLower(rec.String("_modifiedby_value")), strings.ToLower(rec.String("_modifiedonbehalfby_value"))
	}

	// Mapping required: the mapped user's write is recorded as made by that CRM user.
	actx, err := users.ActAs(ctx, jo, true)
	require.NoError(t, err)
	require.NoError(t, f.crm.Update(actx, "accounts", dataverse.ID(acct.ID), map[string]any{"telephone1": "+44 20 7946 0001"}, ""))
	by, onBehalf := modifiedBy()
	require.Equal(t, jo.CRMUserID, by)
	require.Equal(t, strings.ToLower(who.UserID), onBehalf)

	// The unmapped user is refused with the reason and the fix; nothing is sent.
	_, err = users.ActAs(ctx, stranger, true)
	require.ErrorIs(t, err, users.ErrNotMapped)
	var nm *users.NotMappedError
	require.ErrorAs(t, err, &nm)
	require.Contains(t, nm.Error(), "no CRM user is mapped to nobody@example.com")
	require.Contains(t, nm.Fix, "coupler users map")

	// Setting off: the same user writes as the integration user.
	octx, err := users.ActAs(ctx, stranger, false)
	require.NoError(t, err)
	require.NoError(t, f.crm.Update(octx, "accounts", dataverse.ID(acct.ID), map[string]any{"telephone1": "+44 20 7946 0002"}, ""))
	by, onBehalf = modifiedBy()
	require.Equal(t, strings.ToLower(who.UserID), by)
	require.Empty(t, onBehalf)
}

func TestMatchOutcomes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		found  []users.CRMUser
		wantID string
		reason string
	}{
		{"one enabled", []users.CRMUser{{ID: "a"}}, "a", ""},
		{"disabled ignored", []users.CRMUser{{ID: "a", Disabled: true}, {ID: "b"}}, "b", ""},
		{"only disabled", []users.CRMUser{{ID: "a", Disabled: true}}, "", "is disabled"},
		{"ambiguous", []users.CRMUser{{ID: "a"}, {ID: "b"}}, "", "2 enabled CRM users"},
		{"none", nil, "", "no CRM user"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			st := &memStore{}
			svc := users.NewService(st, slog.New(slog.DiscardHandler), users.KDF{Memory: 64, Time: 1, Threads: 1})
			u, err := svc.Create(context.Background(), "x@example.com", "", users.RoleViewer, "a long password 3")
			require.NoError(t, err)
			m, err := svc.Resolve(context.Background(), dirFunc(func(string) []users.CRMUser { return tt.found }), u)
			require.NoError(t, err)
			require.Equal(t, tt.wantID, m.User.CRMUserID)
			if tt.reason == "" {
				require.Nil(t, m.Problem)
			} else {
				require.NotNil(t, m.Problem)
				require.Contains(t, m.Problem.Reason, tt.reason)
			}
		})
	}
}

type dirFunc func(string) []users.CRMUser

func (d dirFunc) FindCRMUsers(_ context.Context, email string) ([]users.CRMUser, error) {
	return d(email), nil
}
