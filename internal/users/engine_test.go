package users_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/coupler/coupler/internal/bc"
	"github.com/coupler/coupler/internal/dataverse"
	"github.com/coupler/coupler/internal/mapping"
	"github.com/coupler/coupler/internal/store"
	_ "github.com/coupler/coupler/internal/store/sqlite"
	"github.com/coupler/coupler/internal/syncer"
	"github.com/coupler/coupler/internal/syncer/crmside"
	"github.com/coupler/coupler/internal/syncer/erpside"
	"github.com/coupler/coupler/internal/syncer/syncstore"
	"github.com/coupler/coupler/internal/users"
)

// The seed's "done when": with mapping required, a mapped user's manual
// synchronisation of one record is recorded by the CRM as made by that user.
func TestManualSyncOfOneRecordIsMadeAsTheMappedUser(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	st, err := store.Open(ctx, store.Options{DataDir: t.TempDir(), Logger: log})
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	erp, err := bc.New(bc.Config{APIURL: f.r.ERPURL, CompanyID: f.r.ERPCompanyID,
		OAuth: &bc.OAuth{ClientID: f.r.ERPClientID, ClientSecret: f.r.ERPClientSecret, TokenURL: f.r.TokenURL}})
	require.NoError(t, err)
	eng, err := syncer.New(syncer.Options{Store: syncstore.New(st), CRM: crmside.New(f.crm, 0), ERP: erpside.New(erp, 0), Logger: log,
		Mappings: func(context.Context) ([]mapping.TableMapping, error) { return mapping.Defaults(), nil }})
	require.NoError(t, err)
	// The first full synchronisation runs as the integration user (the scheduler's identity).
	_, err = eng.Run(ctx, nil, syncer.RunOptions{Full: true, Trigger: "full"})
	require.NoError(t, err)
	cs, err := st.ListCouplings(ctx, store.CouplingFilter{Mapping: mapping.Customer, Limit: 1})
	require.NoError(t, err)
	require.NotEmpty(t, cs)
	c := cs[0]

	jo, err := f.svc.Create(ctx, "jo@contoso.com", "Jim", users.RoleOperator, "a long password 1")
	require.NoError(t, err)
	m, err := f.svc.Resolve(ctx, users.CRMDirectory{Client: f.crm}, jo)
	require.NoError(t, err)
	require.Nil(t, m.Problem)
	jo = m.User

	// Jim changes the customer in the ERP and synchronises that one record now.
	_, err = erp.Update(ctx, "customers", c.ERPID, "*", map[string]any{"phoneNumber": "+44 20 7946 0999"})
	require.NoError(t, err)
	actx, err := users.ActAs(ctx, jo, true)
	require.NoError(t, err)
	jobs, err := eng.Run(actx, []string{mapping.Customer}, syncer.RunOptions{Trigger: "manual", ERPIDs: []string{c.ERPID}})
	require.NoError(t, err)
	require.Len(t, jobs, 1)
	require.Equal(t, 1, jobs[0].Counts.Modified, "%+v", jobs[0])

	rec, err := f.admin.Retrieve(ctx, "accounts", dataverse.ID(c.CRMID), "telephone1", "_modifiedby_value")
	require.NoError(t, err)
	require.Equal(t, "+44 20 7946 0999", rec.String("telephone1"))
	require.Equal(t, jo.CRMUserID, strings.ToLower(rec.String("_modifiedby_value")))

	// A user without a CRM match is refused before anything is sent.
	stranger, err := f.svc.Create(ctx, "nobody@example.com", "", users.RoleOperator, "a long password 2")
	require.NoError(t, err)
	_, err = users.ActAs(ctx, stranger, true)
	require.ErrorIs(t, err, users.ErrNotMapped)
	require.ErrorContains(t, err, "no CRM user is mapped to nobody@example.com")
}
