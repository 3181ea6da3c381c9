package dataverse

import (
	"archive/zip"
	"bytes"
	"encoding/base64"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestMetadataAPI(t *testing.T) {
	t.Parallel()
	e := setup(t)
	r := e.do(t, "GET", "EntityDefinitions?$select=LogicalName,EntitySetName,PrimaryIdAttribute&$filter=LogicalName eq 'salesorder'", nil)
	require.Equal(t, 200, r.status, string(r.body))
	v := r.values(t)
	require.Len(t, v, 1)
	require.Equal(t, "salesorders", v[0]["EntitySetName"])
	require.Equal(t, "salesorderid", v[0]["PrimaryIdAttribute"])

	// A new column, written and read back through the Web API.
	r = e.do(t, "POST", "EntityDefinitions(LogicalName='account')/Attributes", map[string]any{
		"@odata.type": "Microsoft.Dynamics.CRM.StringAttributeMetadata", "AttributeType": "String",
		"AttributeTypeName": map[string]any{"Value": "StringType"}, "SchemaName": "coupler_ErpNo", "MaxLength": 20,
		"DisplayName": map[string]any{"LocalizedLabels": []map[string]any{{"Label": "ERP No.", "LanguageCode": 1033}}},
	}, "MSCRM.SolutionUniqueName: coupler")
	require.Equal(t, 204, r.status, string(r.body))
	require.Contains(t, r.header.Get("OData-EntityId"), "/Attributes(")
	r = e.do(t, "POST", "EntityDefinitions(LogicalName='account')/Attributes", map[string]any{"AttributeType": "String", "SchemaName": "coupler_ErpNo"})
	require.Equal(t, 400, r.status)
	r = e.do(t, "POST", "EntityDefinitions(LogicalName='account')/Attributes", map[string]any{"AttributeType": "String", "SchemaName": "noprefix"})
	require.Equal(t, 400, r.status)
	require.Contains(t, string(r.body), "customization prefix")

	id := entityID(t, e.do(t, "POST", "accounts", map[string]any{"name": "With ERP no", "coupler_erpno": "C-10000"}))
	r = e.do(t, "GET", "accounts?$select=coupler_erpno&$filter=coupler_erpno eq 'C-10000'", nil)
	require.Len(t, r.values(t), 1)
	require.Equal(t, id, r.values(t)[0]["accountid"])
	r = e.do(t, "POST", "accounts", map[string]any{"coupler_erpno": "123456789012345678901"})
	require.Equal(t, 400, r.status)
	r = e.do(t, "GET", "EntityDefinitions(LogicalName='account')/Attributes(LogicalName='coupler_erpno')", nil)
	require.Equal(t, 200, r.status, string(r.body))
	require.Equal(t, true, r.json(t)["IsCustomAttribute"])

	// A new table.
	r = e.do(t, "POST", "EntityDefinitions", map[string]any{"SchemaName": "coupler_syncmarker", "OwnershipType": "OrganizationOwned",
		"Attributes": []map[string]any{{"AttributeType": "String", "SchemaName": "coupler_name", "IsPrimaryName": true, "MaxLength": 100}}})
	require.Equal(t, 204, r.status, string(r.body))
	r = e.do(t, "POST", "coupler_syncmarkers", map[string]any{"coupler_name": "m1"}, "Prefer: return=representation")
	require.Equal(t, 201, r.status, string(r.body))
	require.EqualValues(t, 0, r.json(t)["statecode"])
}

func solutionZip(t *testing.T, uniqueName string) string {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.Create("solution.xml")
	require.NoError(t, err)
	_, err = w.Write([]byte(`<ImportExportXml><SolutionManifest><UniqueName>` + uniqueName + `</UniqueName><LocalizedNames><LocalizedName description="Dynamics 365 Business Central Integration" languagecode="1033" /></LocalizedNames><Version>2.0.0.3</Version></SolutionManifest></ImportExportXml>`))
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	return base64.StdEncoding.EncodeToString(buf.Bytes())
}

func TestImportSolution(t *testing.T) {
	t.Parallel()
	e := setup(t)
	c := e.srv.Credentials()
	body := map[string]any{"CustomizationFile": solutionZip(t, integrationSolutionName), "OverwriteUnmanagedCustomizations": true,
		"PublishWorkflows": true, "ImportJobId": "5b0c7c5e-1b4d-4d0b-8d3a-6a2f1f0e9a10"}
	integ := e.userToken(t, c.IntegrationUser, c.IntegrationPassword)
	r := e.doAs(t, integ, "POST", "ImportSolution", body)
	require.Equal(t, 403, r.status, "the integration user is not a System Administrator")
	require.Contains(t, string(r.body), "prvImportCustomization")

	admin := e.userToken(t, c.AdminUser, c.AdminPassword)
	r = e.doAs(t, admin, "POST", "ImportSolution", body)
	require.Equal(t, 204, r.status, string(r.body))
	r = e.do(t, "GET", "solutions?$select=uniquename,version,friendlyname&$filter=uniquename eq '"+integrationSolutionName+"'", nil)
	v := r.values(t)
	require.Len(t, v, 1)
	require.Equal(t, "2.0.0.3", v[0]["version"])
	require.Equal(t, "Dynamics 365 Business Central Integration", v[0]["friendlyname"])

	for _, bad := range []map[string]any{
		{"CustomizationFile": "!!!", "OverwriteUnmanagedCustomizations": true, "PublishWorkflows": true},
		{"CustomizationFile": base64.StdEncoding.EncodeToString([]byte("not a zip")), "OverwriteUnmanagedCustomizations": true, "PublishWorkflows": true},
		{"OverwriteUnmanagedCustomizations": true, "PublishWorkflows": true},
	} {
		require.Equal(t, 400, e.doAs(t, admin, "POST", "ImportSolution", bad).status)
	}
}

func TestDemoData(t *testing.T) {
	t.Parallel()
	e := setup(t)
	// Integration roles with their real ids; the integration user holds none.
	r := e.do(t, "GET", "roles?$select=name&$filter=roleid eq "+roleIntegrationAdminID.String()+" or roleid eq "+roleIntegrationUserID.String()+"&$orderby=name", nil)
	v := r.values(t)
	require.Len(t, v, 2)
	require.Equal(t, "Integration Administrator", v[0]["name"])
	r = e.do(t, "GET", "roles?$select=name,roletemplateid&$filter=name eq 'System Administrator'", nil)
	require.Equal(t, roleTemplateSysAdmin.String(), r.values(t)[0]["roletemplateid"])
	c := e.srv.Credentials()
	r = e.do(t, "GET", "systemusers?$select=fullname,isdisabled,islicensed,isintegrationuser&$filter=domainname eq '"+c.IntegrationUser+"'&$expand=systemuserroles_association($select=name)", nil)
	v = r.values(t)
	require.Len(t, v, 1)
	require.Equal(t, false, v[0]["isdisabled"])
	require.Empty(t, v[0]["systemuserroles_association"])
	// The ERP's base currency exists and is the organisation's base.
	r = e.do(t, "GET", "transactioncurrencies?$select=currencyname,exchangerate&$filter=isocurrencycode eq 'GBP'", nil)
	require.Len(t, r.values(t), 1)
	r = e.do(t, "GET", "organizations?$select=name,_basecurrencyid_value", nil)
	require.Equal(t, r.values(t)[0]["_basecurrencyid_value"], deterministicID("currency:GBP").String())
	// Salespeople match the ERP's by e-mail.
	r = e.do(t, "GET", "systemusers?$select=fullname&$filter=internalemailaddress eq 'JO@contoso.com'", nil)
	require.Equal(t, "Jim Olive", r.values(t)[0]["fullname"])
	// Two submitted orders, one active quote.
	require.Len(t, e.do(t, "GET", "salesorders?$select=name&$filter=statecode eq 1", nil).values(t), 2)
	v = e.do(t, "GET", "quotes?$select=name,statuscode&$filter=statecode eq 1", nil).values(t)
	require.Len(t, v, 1)
	require.EqualValues(t, 2, v[0]["statuscode"])
	// Matching, differing and CRM-only accounts.
	require.Len(t, e.do(t, "GET", "accounts?$select=name&$filter=emailaddress1 eq 'robert.townes@contoso.com'", nil).values(t), 1)
	require.Equal(t, "Miami Beach", e.do(t, "GET", "accounts?$select=address1_city&$filter=name eq 'School of Fine Art'", nil).values(t)[0]["address1_city"])
	require.Len(t, e.do(t, "GET", "accounts?$select=name&$filter=name eq 'Fourth Coffee'", nil).values(t), 1)
	require.Len(t, e.do(t, "GET", "products?$select=name&$filter=productnumber eq '1896-S' and statecode eq 0", nil).values(t), 1)
	require.Len(t, e.do(t, "GET", "uoms?$select=name", nil).values(t), 3)
	require.Len(t, e.do(t, "GET", "pricelevels?$select=name", nil).values(t), 2)

	// seed "none" has the organisation and its users but no demo records.
	n := setup(t, setupOpts{seed: "none"})
	require.Empty(t, n.do(t, "GET", "accounts", nil).values(t))
	require.Equal(t, 200, n.do(t, "GET", "WhoAmI", nil).status)
}

func TestNewValidatesOptions(t *testing.T) {
	t.Parallel()
	_, err := New(Options{})
	require.ErrorContains(t, err, "Identity")
	e := setup(t)
	_, err = New(Options{Identity: e.issuer, Logger: e.srv.log, Seed: "nope"})
	require.ErrorContains(t, err, `seed "nope" is unknown`)
	_, err = New(Options{Identity: e.issuer, Logger: e.srv.log, Scale: -1})
	require.ErrorContains(t, err, "scale")
}
