package setup

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"

	"github.com/coupler/coupler/internal/dataverse"
)

// SolutionVersion is the version of the integration solution coupler ships.
// Raise it whenever solutionTables or LinkTables change: the connection
// test then reports an older installed solution as not current, and the
// next import upgrades it in place.
const SolutionVersion = "1.1.0.0"

// SolutionPackage builds the integration solution's package (the zip the
// CRM's ImportSolution takes): a managed solution named
// SolutionUniqueName whose import creates the two integration roles.
func SolutionPackage() ([]byte, error) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	files := []struct{ name, body string }{
		{"[Content_Types].xml", `<?xml version="1.0" encoding="utf-8"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="xml" ContentType="application/octet-stream" /></Types>`},
		{"solution.xml", `<?xml version="1.0" encoding="utf-8"?>
<ImportExportXml version="9.2.0.0" SolutionPackageVersion="9.2" languagecode="1033" generatedBy="coupler">
  <SolutionManifest>
    <UniqueName>` + SolutionUniqueName + `</UniqueName>
    <LocalizedNames><LocalizedName description="Coupler Integration" languagecode="1033" /></LocalizedNames>
    <Version>` + SolutionVersion + `</Version>
    <Managed>1</Managed>
    <Publisher>
      <UniqueName>coupler</UniqueName>
      <LocalizedNames><LocalizedName description="coupler" languagecode="1033" /></LocalizedNames>
      <CustomizationPrefix>cpl</CustomizationPrefix>
      <CustomizationOptionValuePrefix>10000</CustomizationOptionValuePrefix>
    </Publisher>
    <RootComponents />
  </SolutionManifest>
</ImportExportXml>`},
		{"customizations.xml", `<?xml version="1.0" encoding="utf-8"?>
<ImportExportXml xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <Roles>
    <Role id="{` + RoleIntegrationAdministrator + `}" name="Integration Administrator" />
    <Role id="{` + RoleIntegrationUser + `}" name="Integration User" />
  </Roles>
</ImportExportXml>`},
	}
	for _, f := range files {
		w, err := zw.Create(f.name)
		if err != nil {
			return nil, fmt.Errorf("build solution package: %w", err)
		}
		if _, err := w.Write([]byte(f.body)); err != nil {
			return nil, fmt.Errorf("build solution package: %w", err)
		}
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("build solution package: %w", err)
	}
	return buf.Bytes(), nil
}

func newGUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// AdminCredentials sign in as a CRM administrator for the one call that
// needs it (importing the solution); they are used once, never stored.
type AdminCredentials struct {
	User, Password string
}

// ImportSolution imports the integration solution into the CRM, as the
// administrator when given, else as the integration user.
func (s *Service) ImportSolution(ctx context.Context, name string, admin *AdminCredentials) error {
	_, err := s.ImportSolutionReport(ctx, name, admin)
	return err
}

// ImportSolutionReport imports the integration solution and returns what it
// changed: nothing when the current version is already installed with all
// its components. The solution package is imported only when the installed
// version differs; the components (tables, columns, key, roles) are created
// through the metadata API when missing; the connection row gets the ERP
// web client URL.
func (s *Service) ImportSolutionReport(ctx context.Context, name string, admin *AdminCredentials) ([]SolutionChange, error) {
	c, err := s.Load(ctx, name)
	if err != nil {
		return nil, err
	}
	asAdmin := c
	secrets := s.Secrets
	if admin != nil && admin.User != "" {
		asAdmin.CRM.AuthType, asAdmin.CRM.UserName, asAdmin.CRM.ConnectionString = AuthOAuth, admin.User, ""
		if asAdmin.CRM.ClientID == "" {
			asAdmin.CRM.ClientID = dataverse.DefaultPublicClientID
		}
		asAdmin.CRM.ConnectionString = defaultTemplate(asAdmin.CRM).Format()
		secrets = oneSecret{name: SecretCRMPassword, value: admin.Password}
	}
	crm, err := DialCRM(ctx, asAdmin, secrets, s.Options)
	if err != nil {
		return nil, err
	}
	fail := func(what string, err error) error {
		f := classify(err, "CRM", c.CRM.URL, "the administrator's user name and password")
		return fmt.Errorf("import the integration solution: %s; %s", what+": "+f.reason, f.fix)
	}
	var changes []SolutionChange
	installed, err := InstalledSolutionVersion(ctx, crm)
	if err != nil {
		return nil, fail("read the installed version", err)
	}
	if installed != SolutionVersion {
		pkg, err := SolutionPackage()
		if err != nil {
			return nil, err
		}
		body, _ := json.Marshal(map[string]any{
			"CustomizationFile":                base64.StdEncoding.EncodeToString(pkg),
			"OverwriteUnmanagedCustomizations": true,
			"PublishWorkflows":                 true,
			"ImportJobId":                      newGUID(),
		})
		if _, err := crm.Do(ctx, dataverse.Request{Method: http.MethodPost, Path: "ImportSolution", Body: body}); err != nil {
			return nil, fail("import the package", err)
		}
		from := installed
		if from == "" {
			from = "none"
		}
		changes = append(changes, SolutionChange{Kind: "solution", Name: SolutionUniqueName + " " + from + " → " + SolutionVersion})
	}
	comps, err := EnsureSolutionComponents(ctx, crm)
	changes = append(changes, comps...)
	if err != nil {
		return changes, fail("create the components", err)
	}
	if err := PutConnectionRow(ctx, crm, c.Name, c.ERP.WebClientURL, c.LastTest.ERPCompanyName); err != nil {
		return changes, fail("write the connection row", err)
	}
	s.log().Info("integration solution imported", "name", c.Name, "solution", SolutionUniqueName, "version", SolutionVersion, "changes", len(changes))
	return changes, nil
}

// InstalledSolutionVersion returns the version of the integration solution
// installed in the CRM, "" when it is not installed.
func InstalledSolutionVersion(ctx context.Context, crm *dataverse.Client) (string, error) {
	resp, err := crm.Do(ctx, dataverse.Request{Method: http.MethodGet, Path: "solutions",
		Query: url.Values{"$filter": {"uniquename eq '" + SolutionUniqueName + "'"}, "$select": {"uniquename,version"}}})
	if err != nil {
		return "", err
	}
	var page struct {
		Value []dataverse.Record `json:"value"`
	}
	if err := json.Unmarshal(resp.Body, &page); err != nil {
		return "", fmt.Errorf("the CRM's answer about solutions is not JSON: %w", err)
	}
	if len(page.Value) == 0 {
		return "", nil
	}
	return page.Value[0].String("version"), nil
}

// oneSecret serves a single secret that is not stored (admin password).
type oneSecret struct{ name, value string }

func (o oneSecret) Put(context.Context, string, string, string) error { return nil }
func (o oneSecret) Get(_ context.Context, _, name string) (string, error) {
	if name != o.name {
		return "", ErrSecretMissing
	}
	return o.value, nil
}
func (o oneSecret) IsSet(_ context.Context, _, name string) (bool, error) {
	return name == o.name && o.value != "", nil
}
