package setup_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/coupler/coupler/internal/dataverse"
	"github.com/coupler/coupler/internal/setup"
)

// oldPackage is the solution package an older coupler shipped.
func oldPackage(t *testing.T, version string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.Create("solution.xml")
	require.NoError(t, err)
	_, err = w.Write([]byte(`<ImportExportXml><SolutionManifest><UniqueName>` + setup.SolutionUniqueName + `</UniqueName><Version>` + version + `</Version></SolutionManifest></ImportExportXml>`))
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	return buf.Bytes()
}

func TestImportSolutionCreatesComponentsIdempotentlyAndUpgrades(t *testing.T) {
	t.Parallel()
	l := startLive(t)
	ctx := context.Background()
	admin := &setup.AdminCredentials{User: l.r.CRMAdminUser, Password: l.r.CRMAdminPassword}

	// A CRM that lost one of the integration roles gets it back.
	require.NoError(t, l.admin.Delete(ctx, "roles", dataverse.ID(setup.RoleIntegrationUser), ""))

	changes, err := l.svc.ImportSolutionReport(ctx, "", admin)
	require.NoError(t, err)
	got := map[string]bool{}
	for _, c := range changes {
		got[c.Kind+" "+c.Name] = true
	}
	for _, want := range []string{
		"solution " + setup.SolutionUniqueName + " none → " + setup.SolutionVersion,
		"table cpl_connection", "table cpl_accountstatistics", "key cpl_accountstatistics(cpl_accountid)",
		"column account.cpl_erplink", "column contact.cpl_erplink", "column product.cpl_erplink", "column salesorder.cpl_erplink",
		"role Integration User",
	} {
		require.True(t, got[want], "missing change %q in %v", want, changes)
	}
	require.False(t, got["role Integration Administrator"], "an existing role is left alone")

	// The connection row holds the ERP web client URL.
	set, err := setup.EntitySetName(ctx, l.admin, setup.ConnectionTable)
	require.NoError(t, err)
	row := l.first(t, set, "cpl_name eq 'default'")
	require.Equal(t, l.r.ERPWebClientURL, row.String(setup.ColWebClientURL))

	// A second import changes nothing.
	changes, err = l.svc.ImportSolutionReport(ctx, "", admin)
	require.NoError(t, err)
	require.Empty(t, changes)

	l.assignRoles(t)
	list, err := l.svc.Test(ctx, "")
	require.NoError(t, err)
	requireCheck(t, list, "crm.solution", setup.Passed, "", "")

	// An older coupler's solution is reported as not current, then upgraded in place.
	body, _ := json.Marshal(map[string]any{"CustomizationFile": base64.StdEncoding.EncodeToString(oldPackage(t, "1.0.0.0")),
		"OverwriteUnmanagedCustomizations": true, "PublishWorkflows": true, "ImportJobId": "00000000-0000-0000-0000-000000000001"})
	_, err = l.admin.Do(ctx, dataverse.Request{Method: http.MethodPost, Path: "ImportSolution", Body: body})
	require.NoError(t, err)
	list, err = l.svc.Test(ctx, "")
	require.NoError(t, err)
	requireCheck(t, list, "crm.solution", setup.Failed,
		"the integration solution MicrosoftDynamicsNavIntegration 1.0.0.0 is older than the version "+setup.SolutionVersion+" this coupler needs",
		"run `coupler connection import-solution` to upgrade it in place")
	changes, err = l.svc.ImportSolutionReport(ctx, "", admin)
	require.NoError(t, err)
	require.Equal(t, []setup.SolutionChange{{Kind: "solution", Name: setup.SolutionUniqueName + " 1.0.0.0 → " + setup.SolutionVersion}}, changes)
	list, err = l.svc.Test(ctx, "")
	require.NoError(t, err)
	requireCheck(t, list, "crm.solution", setup.Passed, "", "")
}

func TestCompareVersions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		a, b string
		want int
	}{
		{"1.1.0.0", "1.1.0.0", 0}, {"1.0.0.0", "1.1.0.0", -1}, {"1.10.0.0", "1.9.0.0", 1}, {"2", "1.9.9.9", 1}, {"1.1", "1.1.0.0", 0},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, setup.CompareVersions(tt.a, tt.b), "%s vs %s", tt.a, tt.b)
	}
}
