package setup

import (
	"errors"
	"net/url"
	"os"
	"strings"

	"github.com/coupler/coupler/internal/bc"
	"github.com/coupler/coupler/internal/dataverse"
)

// Answers are the raw values of a setup, keyed by Field.Key, as given by
// flags (--crm-url …), a file, or the interactive guide.
type Answers map[string]string

// Draft is a setup being built from answers: the connection record, the
// secrets to save and whether to enable at the end.
type Draft struct {
	Setup     ConnectionSetup
	Secrets   map[string]string // secret name → value, only those given
	Enable    bool
	PublicURL string // coupler's own public URL, for the availability OData URL
	// Existing lists secrets already stored: an empty answer keeps them.
	Existing map[string]bool
	// Ignored lists answers given for fields that do not apply (e.g. a
	// client secret with user + password authentication).
	Ignored []string
}

// Field is one question of the assisted setup. The same list drives the
// interactive guide, the flags and the file, so that every path validates
// alike.
type Field struct {
	Key    string // "crm.url"; the flag is --crm-url
	Step   string // "CRM", "ERP" or "Advanced", the seed's steps
	Label  string
	Help   string
	Secret bool
	Bool   bool
	// OnDemand fields are asked interactively only when another answer
	// needs them (allow-insecure, after an http:// URL).
	OnDemand bool
	// Secret fields name the secret they fill.
	SecretName string
	Applies    func(d *Draft) bool
	Default    func(d *Draft) string
	// Apply validates v, stores it in d and returns it as stored (the
	// corrected value the user is shown).
	Apply func(d *Draft, v string) (string, error)
}

// Flag is the command-line flag of the field.
func (f Field) Flag() string { return strings.ReplaceAll(f.Key, ".", "-") }

func always(*Draft) bool { return true }

func required(key, what string) error {
	return &FieldError{Field: key, Problem: "is required", Fix: "give " + what}
}

// ParseBool accepts yes/no answers in the forms people type.
func ParseBool(key, v string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "y", "yes", "true", "1", "on", "oui":
		return true, nil
	case "n", "no", "false", "0", "off", "non":
		return false, nil
	}
	return false, &FieldError{Field: key, Value: strings.TrimSpace(v), Problem: "is not yes or no", Fix: "answer yes or no"}
}

func boolField(key, step, label, help string, def bool, applies func(*Draft) bool, set func(d *Draft, b bool) error) Field {
	return Field{Key: key, Step: step, Label: label, Help: help, Bool: true, Applies: applies,
		Default: func(*Draft) string { return yesNo(def) },
		Apply: func(d *Draft, v string) (string, error) {
			b, err := ParseBool(key, v)
			if err != nil {
				return "", err
			}
			if set != nil {
				if err := set(d, b); err != nil {
					return "", err
				}
			}
			return yesNo(b), nil
		}}
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func secretField(key, step, label, help, name string, applies func(*Draft) bool, what string) Field {
	return Field{Key: key, Step: step, Label: label, Help: help, Secret: true, SecretName: name, Applies: applies,
		Apply: func(d *Draft, v string) (string, error) {
			if path, ok := strings.CutPrefix(v, "@"); ok && name == SecretCRMCertificate {
				// A PEM is several lines: read it from a file.
				b, err := os.ReadFile(strings.TrimSpace(path))
				if err != nil {
					return "", &FieldError{Field: key, Value: v, Problem: "cannot be read (" + errors.Unwrap(err).Error() + ")", Fix: "give @/path/to/certificate.pem (with its private key) or the base64 PKCS#12"}
				}
				d.Secrets[name] = string(b)
				return "(set)", nil
			}
			if v == "" {
				if d.Existing[name] {
					return "(unchanged)", nil
				}
				return "", required(key, what)
			}
			if strings.ContainsAny(v, "\r\n") {
				return "", &FieldError{Field: key, Problem: "contains a line break", Fix: "paste the value on one line"}
			}
			d.Secrets[name] = v
			return "(set)", nil
		}}
}

func plainToken(key, v, what string) (string, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return "", required(key, what)
	}
	if strings.ContainsAny(v, " ;\t\"'") {
		return "", &FieldError{Field: key, Value: v, Problem: "contains spaces, quotes or ';'", Fix: "give " + what + " exactly as issued"}
	}
	return v, nil
}

func crmAuth(d *Draft) AuthType { return d.Setup.CRM.AuthType }

func erpOAuth(d *Draft) bool { return d.Setup.ERP.AuthType == "oauth" }

// Fields returns the questions of the assisted setup in the seed's order:
// CRM URL → credentials → ERP → advanced settings → finish.
func Fields() []Field {
	return []Field{
		boolField("allow-insecure", "CRM", "Allow plain http", "For a local sandbox only: accept http:// addresses, which send credentials unencrypted.", false, always,
			func(d *Draft, b bool) error { d.Setup.CRM.AllowInsecure, d.Setup.ERP.AllowInsecure = b, b; return nil }),
		{Key: "crm.url", Step: "CRM", Label: "Dynamics 365 Sales URL", Help: "Open Dynamics 365 Sales in a browser and paste its address; coupler corrects the format.",
			Applies: always, Apply: func(d *Draft, v string) (string, error) {
				u, err := NormalizeCRMURL("crm.url", v, d.Setup.CRM.AllowInsecure)
				d.Setup.CRM.URL = u
				return u, err
			}},
		{Key: "crm.auth-type", Step: "CRM", Label: "Authentication type", Help: "OAuth (user + password), ClientSecret or Certificate (application user); Office365 is deprecated; AD and IFD are on-premises.",
			Applies: always, Default: func(*Draft) string { return string(AuthOAuth) },
			Apply: func(d *Draft, v string) (string, error) {
				a, err := ParseAuthType("crm.auth-type", v)
				d.Setup.CRM.AuthType = a
				return string(a), err
			}},
		{Key: "crm.user", Step: "CRM", Label: "Integration user name", Help: "A user dedicated to the integration; not a System Administrator.",
			Applies: func(d *Draft) bool { return crmAuth(d).UsesPassword() },
			Apply: func(d *Draft, v string) (string, error) {
				u, err := ValidateUserName("crm.user", crmAuth(d), v)
				d.Setup.CRM.UserName = u
				return u, err
			}},
		secretField("crm.password", "CRM", "Integration user password", "Stored encrypted; never shown again.", SecretCRMPassword,
			func(d *Draft) bool { return crmAuth(d).UsesPassword() }, "the integration user's password"),
		{Key: "crm.client-id", Step: "CRM", Label: "Application (client) id", Help: "The app registration coupler signs in with.",
			Applies: func(d *Draft) bool { return crmAuth(d).UsesOAuth() },
			Default: func(d *Draft) string {
				if a := crmAuth(d); a == AuthOAuth || a == AuthOffice365 {
					return dataverse.DefaultPublicClientID
				}
				return ""
			},
			Apply: func(d *Draft, v string) (string, error) {
				id, err := plainToken("crm.client-id", v, "the application (client) id of the app registration")
				d.Setup.CRM.ClientID = id
				return id, err
			}},
		secretField("crm.client-secret", "CRM", "Client secret", "The app registration's secret value; stored encrypted.", SecretCRMClientSecret,
			func(d *Draft) bool { return crmAuth(d) == AuthClientSecret }, "the application's client secret"),
		secretField("crm.certificate", "CRM", "Certificate (@file.pem, or base64 PKCS#12, with its private key)", "Stored encrypted.", SecretCRMCertificate,
			func(d *Draft) bool { return crmAuth(d) == AuthCertificate }, "the application's certificate with its private key"),
		{Key: "crm.token-url", Step: "CRM", Label: "OAuth token endpoint (empty: discovered from the CRM)", Help: "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token",
			Applies: func(d *Draft) bool { return crmAuth(d).UsesOAuth() },
			Apply: func(d *Draft, v string) (string, error) {
				if strings.TrimSpace(v) == "" {
					d.Setup.CRM.TokenURL = ""
					return "", nil
				}
				u, err := ValidateTokenURL("crm.token-url", v, d.Setup.CRM.AllowInsecure)
				d.Setup.CRM.TokenURL = u
				return u, err
			}},
		{Key: "crm.connection-string", Step: "CRM", Label: "Connection string template (empty: built from the answers)",
			Help:    "XRM tooling key=value; pairs with {PASSWORD}, {CLIENTSECRET} or {CERTIFICATE} instead of the secret.",
			Applies: always,
			Apply: func(d *Draft, v string) (string, error) {
				cs, err := ConnectionTemplate("crm.connection-string", d.Setup.CRM, v)
				d.Setup.CRM.ConnectionString = cs
				return cs, err
			}},
		{Key: "crm.api-version", Step: "CRM", Label: "Dataverse Web API version", Help: "The /api/data/vX.Y the CRM serves.",
			Applies: always, Default: func(*Draft) string { return "9.2" },
			Apply: func(d *Draft, v string) (string, error) {
				s, err := ValidateVersion("crm.api-version", strings.TrimPrefix(strings.TrimSpace(v), "v"), SupportedAPIVersions)
				d.Setup.CRM.APIVersion = s
				return s, err
			}},
		{Key: "erp.url", Step: "ERP", Label: "Business Central API URL", Help: "The API root, ending in /api/v2.0.",
			Applies: always, Apply: func(d *Draft, v string) (string, error) {
				u, err := NormalizeERPURL("erp.url", v, d.Setup.ERP.AllowInsecure)
				if err != nil {
					return "", err
				}
				if _, err := bc.ParseAPIRoot(u); err != nil {
					return "", &FieldError{Field: "erp.url", Value: u, Problem: "is not a Business Central API root",
						Fix: strings.TrimPrefix(err.Error(), "bc: ")}
				}
				d.Setup.ERP.APIURL = u
				return u, nil
			}},
		{Key: "erp.company-id", Step: "ERP", Label: "Company id", Help: "The id (GUID) of the company, from GET {api}/companies.",
			Applies: always, Apply: func(d *Draft, v string) (string, error) {
				id, err := ValidateGUID("erp.company-id", v, "company id (from GET {erp url}/companies)")
				d.Setup.ERP.CompanyID = id
				return id, err
			}},
		{Key: "erp.auth-type", Step: "ERP", Label: "ERP authentication (oauth or basic)", Help: "oauth: client credentials (online); basic: user + web service access key (on-premises).",
			Applies: always,
			Default: func(d *Draft) string {
				if r, err := bc.ParseAPIRoot(d.Setup.ERP.APIURL); err == nil && r.Layout == bc.LayoutOnPremises {
					return "basic"
				}
				return "oauth"
			},
			Apply: func(d *Draft, v string) (string, error) {
				s := strings.ToLower(strings.TrimSpace(v))
				if s != "oauth" && s != "basic" {
					return "", &FieldError{Field: "erp.auth-type", Value: strings.TrimSpace(v), Problem: "is not an ERP authentication type", Fix: "use oauth or basic"}
				}
				d.Setup.ERP.AuthType = s
				return s, nil
			}},
		{Key: "erp.client-id", Step: "ERP", Label: "ERP application (client) id", Applies: erpOAuth,
			Apply: func(d *Draft, v string) (string, error) {
				id, err := plainToken("erp.client-id", v, "the application (client) id registered for Business Central")
				d.Setup.ERP.ClientID = id
				return id, err
			}},
		secretField("erp.client-secret", "ERP", "ERP client secret", "Stored encrypted.", SecretERPClientSecret, erpOAuth, "the application's client secret"),
		{Key: "erp.token-url", Step: "ERP", Label: "ERP OAuth token endpoint", Applies: erpOAuth,
			Default: func(d *Draft) string { return d.Setup.CRM.TokenURL },
			Apply: func(d *Draft, v string) (string, error) {
				if strings.TrimSpace(v) == "" {
					if r, err := bc.ParseAPIRoot(d.Setup.ERP.APIURL); err == nil && r.Tenant != "" {
						d.Setup.ERP.TokenURL = ""
						return "", nil
					}
					return "", &FieldError{Field: "erp.token-url", Problem: "is required because the ERP URL names no tenant",
						Fix: "give https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token"}
				}
				u, err := ValidateTokenURL("erp.token-url", v, d.Setup.ERP.AllowInsecure)
				d.Setup.ERP.TokenURL = u
				return u, err
			}},
		{Key: "erp.scope", Step: "ERP", Label: "ERP OAuth scope", Applies: erpOAuth,
			Default: func(*Draft) string { return bc.DefaultScope },
			Apply: func(d *Draft, v string) (string, error) {
				s, err := plainToken("erp.scope", v, "the scope, for example "+bc.DefaultScope)
				d.Setup.ERP.Scope = s
				return s, err
			}},
		{Key: "erp.user", Step: "ERP", Label: "ERP user name", Applies: func(d *Draft) bool { return !erpOAuth(d) },
			Apply: func(d *Draft, v string) (string, error) {
				s := strings.TrimSpace(v)
				if s == "" {
					return "", required("erp.user", "the Business Central user name that holds the web service access key")
				}
				d.Setup.ERP.UserName = s
				return s, nil
			}},
		secretField("erp.web-service-key", "ERP", "ERP web service access key", "From the user card: Web Service Access Key. Stored encrypted.", SecretERPAccessKey,
			func(d *Draft) bool { return !erpOAuth(d) }, "the user's web service access key"),
		{Key: "erp.web-client-url", Step: "ERP", Label: "Business Central web client URL", Help: "Deep links from CRM records open here; empty resets to the default derived from the API URL.",
			Applies: always, Default: func(d *Draft) string { return DefaultWebClientURL(d.Setup.ERP.APIURL) },
			Apply: func(d *Draft, v string) (string, error) {
				u, err := ValidateWebClientURL("erp.web-client-url", v, d.Setup.ERP.AllowInsecure)
				d.Setup.ERP.WebClientURL = u
				return u, err
			}},
		{Key: "crm.sdk-version", Step: "Advanced", Label: "Dynamics 365 SDK (proxy) version", Help: "On-premises only; online requires 100.",
			Applies: always, Default: func(*Draft) string { return "100" },
			Apply: func(d *Draft, v string) (string, error) {
				s, err := ValidateVersion("crm.sdk-version", v, SupportedSDKVersions)
				if err == nil && s != "100" && strings.HasSuffix(hostOf(d.Setup.CRM.URL), ".dynamics.com") {
					return "", &FieldError{Field: "crm.sdk-version", Value: s, Problem: "is too old for Dynamics 365 online", Fix: "use 100"}
				}
				d.Setup.CRM.SDKVersion = s
				return s, err
			}},
		boolField("import-solution", "Advanced", "Import the integration solution into the CRM", "Installs the solution and its security roles.", true, always,
			func(d *Draft, b bool) error { d.Setup.CRM.ImportSolution = b; return nil }),
		boolField("availability.enabled", "Advanced", "Publish the item availability web service", "Lets CRM users see ERP stock.", false, always,
			func(d *Draft, b bool) error { d.Setup.Availability.Enabled = b; return nil }),
		{Key: "availability.odata-url", Step: "Advanced", Label: "Item availability OData URL",
			Applies: func(d *Draft) bool { return d.Setup.Availability.Enabled },
			Default: func(d *Draft) string {
				if d.PublicURL == "" {
					return ""
				}
				return strings.TrimRight(d.PublicURL, "/") + AvailabilityPath
			},
			Apply: func(d *Draft, v string) (string, error) {
				u, err := normalizeBaseURL("availability.odata-url", v, d.Setup.CRM.AllowInsecure, "https://coupler.contoso.com"+AvailabilityPath, false)
				d.Setup.Availability.ODataURL = u
				return u, err
			}},
		{Key: "availability.user", Step: "Advanced", Label: "Item availability user name", Help: "The user the CRM calls the web service as.",
			Applies: func(d *Draft) bool { return d.Setup.Availability.Enabled },
			Apply: func(d *Draft, v string) (string, error) {
				s := strings.TrimSpace(v)
				if s == "" {
					return "", required("availability.user", "the user name the CRM uses to call the item availability web service")
				}
				d.Setup.Availability.UserName = s
				return s, nil
			}},
		secretField("availability.access-key", "Advanced", "Item availability access key", "Stored encrypted.", SecretAvailabilityKey,
			func(d *Draft) bool { return d.Setup.Availability.Enabled }, "the web service access key of that user"),
		boolField("availability.job", "Advanced", "Refresh product stock in the CRM on a schedule", "", true, always,
			func(d *Draft, b bool) error { d.Setup.Availability.JobEnable = b; return nil }),
		boolField("sales-orders.enabled", "Advanced", "Enable sales order integration", "Submitted CRM orders become ERP sales orders.", false, always,
			func(d *Draft, b bool) error { d.Setup.SalesOrders.Enabled = b; return nil }),
		boolField("sales-orders.auto-create", "Advanced", "Create sales orders automatically", "", false,
			func(d *Draft) bool { return d.Setup.SalesOrders.Enabled },
			func(d *Draft, b bool) error { d.Setup.SalesOrders.AutoCreate = b; return nil }),
		boolField("sales-orders.auto-process-quotes", "Advanced", "Process quotes automatically", "", false,
			func(d *Draft) bool { return d.Setup.SalesOrders.Enabled },
			func(d *Draft, b bool) error { d.Setup.SalesOrders.AutoProcessQuote = b; return nil }),
		boolField("sales-orders.bidirectional", "Advanced", "Bidirectional sales order synchronisation", "Exclusive with the sales order integration above.", false, always,
			func(d *Draft, b bool) error {
				if b && d.Setup.SalesOrders.Enabled {
					return &FieldError{Field: "sales-orders.bidirectional", Value: "yes", Problem: "cannot be combined with sales-orders.enabled",
						Fix: "choose one: the sales order integration or bidirectional synchronisation"}
				}
				d.Setup.SalesOrders.Bidirectional = b
				return nil
			}),
		boolField("users-must-map", "Advanced", "ERP users must map to CRM users", "Users act in the CRM only as the CRM user with their e-mail.", false, always,
			func(d *Draft, b bool) error { d.Setup.UsersMustMapToCRM = b; return nil }),
		boolField("enable", "Advanced", "Enable the connection", "Runs the connection test first.", true, always,
			func(d *Draft, b bool) error { d.Enable = b; return nil }),
	}
}

// AvailabilityPath is where coupler serves the item availability OData
// service under its public URL.
const AvailabilityPath = "/odata/v4/ProductItemAvailability"

func hostOf(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return ""
	}
	return strings.ToLower(p.Hostname())
}
