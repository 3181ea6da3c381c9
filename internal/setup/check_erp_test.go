package setup_test

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/coupler/coupler/internal/sandbox/bc"
	"github.com/coupler/coupler/internal/setup"
)

// erpSetup points the ERP side at the Business Central simulator.
func erpSetup(t *testing.T) (setup.ConnectionSetup, *memSecrets, bc.Credentials) {
	t.Helper()
	c, sec, iss := netSetup(t)
	sim, err := bc.New(bc.Options{Identity: iss, Seed: "demo", Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	hs := httptest.NewServer(sim.Handler())
	t.Cleanup(hs.Close)
	cr := sim.Credentials()
	c.ERP.APIURL = hs.URL + sim.APIRootPath()
	c.ERP.CompanyID = cr.CompanyID
	c.ERP.ClientID = cr.ClientID
	require.NoError(t, sec.Put(context.Background(), c.Name, setup.SecretERPClientSecret, cr.ClientSecret))
	require.Equal(t, hs.URL+sim.WebClientPath(), setup.DefaultWebClientURL(c.ERP.APIURL))
	return c, sec, cr
}

func TestCheckERPAgainstSimulator(t *testing.T) {
	t.Parallel()
	c, sec, cr := erpSetup(t)
	l := runTest(t, c, sec, nil)
	requireCheck(t, l, "erp.reach", setup.Passed, "", "")
	requireCheck(t, l, "erp.auth", setup.Passed, "", "")
	requireCheck(t, l, "erp.company", setup.Passed, "", "")
	require.Equal(t, cr.CompanyName, l.Facts.ERPCompanyName)
	// The CRM side is unreachable in this setup: the currency check waits for it.
	requireCheck(t, l, "erp.currency", setup.Skipped, "the CRM could not be queried", "")
}

func TestCheckERPWrongCompanyAndSecret(t *testing.T) {
	t.Parallel()
	c, sec, cr := erpSetup(t)
	c.ERP.CompanyID = "00000000-0000-0000-0000-00000000beef"
	l := runTest(t, c, sec, nil)
	requireCheck(t, l, "erp.company", setup.Failed, "the ERP has no company with id 00000000-0000-0000-0000-00000000beef",
		"set erp.company-id to one of: "+cr.CompanyName+" ("+cr.CompanyID+")")

	c, sec, _ = erpSetup(t)
	require.NoError(t, sec.Put(context.Background(), c.Name, setup.SecretERPClientSecret, "not-the-secret"))
	l = runTest(t, c, sec, nil)
	ch, _ := l.Find("erp.auth")
	require.Equal(t, setup.Failed, ch.Status, l.String())
	require.Contains(t, ch.Reason, "the ERP refused the credentials: ")
	require.Contains(t, ch.Reason, "AADSTS7000215")
	require.Equal(t, "check erp.client-id and erp.client-secret", ch.Fix)
	require.NotContains(t, l.String(), "not-the-secret")
}
