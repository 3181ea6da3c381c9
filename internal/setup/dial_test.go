package setup_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/coupler/coupler/internal/setup"
)

// pacer is a budget that lets every turn through.
type pacer struct{ key [3]string }

func (pacer) Wait(context.Context) error { return nil }

// recordPacers hands out pacers that remember their key.
func recordPacers(connection, service, user string) (setup.Pacer, error) {
	return &pacer{key: [3]string{connection, service, user}}, nil
}

// The clients take their turns from the budget of the user each service
// counts: the CRM's interactive user (or application user) and the ERP's
// OAuth client (or Basic user), lower case, under the connection's name.
func TestDialTakesTheUsersBudget(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	c, sec, _ := netSetup(t)
	o := setup.DialOptions{Pacers: recordPacers}
	crm, err := setup.DialCRM(ctx, c, sec, o)
	require.NoError(t, err)
	require.Equal(t, [3]string{setup.DefaultName, "dataverse", testUser}, crm.Pacer().(*pacer).key)
	erp, err := setup.DialERP(ctx, c, sec, o)
	require.NoError(t, err)
	require.Equal(t, [3]string{setup.DefaultName, "bc", testClient}, erp.Pacer().(*pacer).key)

	app := c
	app.CRM.AuthType, app.CRM.ClientID = setup.AuthClientSecret, "CRM-App"
	app.CRM.ConnectionString = "AuthType=ClientSecret;Url=" + c.CRM.URL + ";ClientId=CRM-App;ClientSecret={CLIENTSECRET}"
	require.NoError(t, sec.Put(ctx, c.Name, setup.SecretCRMClientSecret, "s"))
	crm, err = setup.DialCRM(ctx, app, sec, o)
	require.NoError(t, err)
	require.Equal(t, [3]string{setup.DefaultName, "dataverse", "crm-app"}, crm.Pacer().(*pacer).key)

	basic := c
	basic.ERP.AuthType, basic.ERP.UserName = "basic", "ADMIN"
	require.NoError(t, sec.Put(ctx, c.Name, setup.SecretERPAccessKey, "k"))
	erp, err = setup.DialERP(ctx, basic, sec, o)
	require.NoError(t, err)
	require.Equal(t, [3]string{setup.DefaultName, "bc", "admin"}, erp.Pacer().(*pacer).key)
}

// Without Pacers each client keeps its own limiter; a budget that cannot
// be had fails the dial.
func TestDialWithoutOrFailingPacers(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	c, sec, _ := netSetup(t)
	crm, err := setup.DialCRM(ctx, c, sec, setup.DialOptions{})
	require.NoError(t, err)
	require.Nil(t, crm.Pacer())
	erp, err := setup.DialERP(ctx, c, sec, setup.DialOptions{})
	require.NoError(t, err)
	require.Nil(t, erp.Pacer())

	broken := errors.New("no budget")
	o := setup.DialOptions{Pacers: func(string, string, string) (setup.Pacer, error) { return nil, broken }}
	_, err = setup.DialCRM(ctx, c, sec, o)
	require.ErrorIs(t, err, broken)
	_, err = setup.DialERP(ctx, c, sec, o)
	require.ErrorIs(t, err, broken)
}
