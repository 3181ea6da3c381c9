package setup

import "time"

// AuthType is how coupler authenticates to the CRM, as in the seed page's
// connection string (AuthType=…).
type AuthType string

const (
	AuthOffice365    AuthType = "Office365"
	AuthOAuth        AuthType = "OAuth"
	AuthAD           AuthType = "AD"
	AuthIFD          AuthType = "IFD"
	AuthClientSecret AuthType = "ClientSecret"
	AuthCertificate  AuthType = "Certificate"
)

// ConnectionSetup is the whole connection between one ERP company and one
// CRM organisation: every field of the seed's setup page for both
// directions. Secrets are not here: they live in the secret store under
// (connection name, secret name) and are shown only as "set"/"not set".
type ConnectionSetup struct {
	Name    string `json:"name"` // "default" unless several companies are connected
	Enabled bool   `json:"enabled"`

	CRM          CRMSettings          `json:"crm"`
	ERP          ERPSettings          `json:"erp"`
	Availability AvailabilitySettings `json:"availability"`
	SalesOrders  SalesOrderSettings   `json:"sales_orders"`

	// UsersMustMapToCRM: coupler users act in the CRM only as the CRM user
	// with their e-mail ("ERP users must map to CRM users").
	UsersMustMapToCRM bool `json:"users_must_map_to_crm"`

	LastTest      TestFacts `json:"last_test"`
	DisableReason string    `json:"disable_reason,omitempty"`
	UpdatedAt     time.Time `json:"updated_at"`
}

// CRMSettings describe the Dataverse side.
type CRMSettings struct {
	URL              string   `json:"url"` // normalised: scheme + host
	AuthType         AuthType `json:"auth_type"`
	UserName         string   `json:"user_name,omitempty"`
	ClientID         string   `json:"client_id,omitempty"`
	TokenURL         string   `json:"token_url,omitempty"`
	ConnectionString string   `json:"connection_string,omitempty"` // template with {PASSWORD}/{CLIENTSECRET}/{CERTIFICATE}
	APIVersion       string   `json:"api_version,omitempty"`       // e.g. "9.2"
	SDKVersion       string   `json:"sdk_version,omitempty"`       // proxy version, e.g. "100"
	AllowInsecure    bool     `json:"allow_insecure,omitempty"`    // plain http, for the sandbox only
	ImportSolution   bool     `json:"import_solution"`
}

// ERPSettings describe the Business Central side.
type ERPSettings struct {
	APIURL        string `json:"api_url"` // API root: companies are at {api_url}/companies
	CompanyID     string `json:"company_id"`
	AuthType      string `json:"auth_type"` // "oauth" or "basic"
	ClientID      string `json:"client_id,omitempty"`
	TokenURL      string `json:"token_url,omitempty"`
	Scope         string `json:"scope,omitempty"`
	UserName      string `json:"user_name,omitempty"` // basic auth with a web service access key
	WebClientURL  string `json:"web_client_url,omitempty"`
	AllowInsecure bool   `json:"allow_insecure,omitempty"`
}

// AvailabilitySettings publish the item availability web service to the CRM.
type AvailabilitySettings struct {
	Enabled   bool   `json:"enabled"`
	ODataURL  string `json:"odata_url,omitempty"`
	UserName  string `json:"user_name,omitempty"`
	JobEnable bool   `json:"job_enabled"` // the newer stock-refresh job
}

// SalesOrderSettings turn CRM orders and quotes into ERP documents.
type SalesOrderSettings struct {
	Enabled          bool `json:"enabled"`
	AutoCreate       bool `json:"auto_create"`
	AutoProcessQuote bool `json:"auto_process_quotes"`
	Bidirectional    bool `json:"bidirectional"`
}

// TestFacts are what the last connection test found (read-only for users).
type TestFacts struct {
	At                time.Time `json:"at"`
	OK                bool      `json:"ok"`
	Summary           string    `json:"summary,omitempty"`
	CRMVersion        string    `json:"crm_version,omitempty"`
	SolutionInstalled bool      `json:"solution_installed"`
	CurrentUserMapped bool      `json:"current_user_mapped"`
	ERPCompanyName    string    `json:"erp_company_name,omitempty"`
	IntegrationUserID string    `json:"integration_user_id,omitempty"`
}
