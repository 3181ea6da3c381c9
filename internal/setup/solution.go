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

	"github.com/coupler/coupler/internal/dataverse"
)

// SolutionVersion is the version of the integration solution coupler ships.
const SolutionVersion = "1.0.0.0"

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
	c, err := s.Load(ctx, name)
	if err != nil {
		return err
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
		return err
	}
	pkg, err := SolutionPackage()
	if err != nil {
		return err
	}
	body, _ := json.Marshal(map[string]any{
		"CustomizationFile":                base64.StdEncoding.EncodeToString(pkg),
		"OverwriteUnmanagedCustomizations": true,
		"PublishWorkflows":                 true,
		"ImportJobId":                      newGUID(),
	})
	if _, err := crm.Do(ctx, dataverse.Request{Method: http.MethodPost, Path: "ImportSolution", Body: body}); err != nil {
		f := classify(err, "CRM", c.CRM.URL, "the administrator's user name and password")
		return fmt.Errorf("import the integration solution: %s; %s", f.reason, f.fix)
	}
	s.log().Info("integration solution imported", "name", c.Name, "solution", SolutionUniqueName, "version", SolutionVersion)
	return nil
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
