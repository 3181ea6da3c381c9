package setup

import "context"

// Secret names, stored under the connection's name as owner. They are
// never in ConnectionSetup: only "set"/"not set" is shown.
const (
	SecretCRMPassword     = "crm_password"
	SecretCRMClientSecret = "crm_client_secret"
	SecretCRMCertificate  = "crm_certificate"
	SecretERPClientSecret = "erp_client_secret"
	SecretERPAccessKey    = "erp_web_service_key"
	SecretAvailabilityKey = "availability_access_key"
)

// SecretNames lists every secret a connection may have, in display order.
var SecretNames = []string{SecretCRMPassword, SecretCRMClientSecret, SecretCRMCertificate,
	SecretERPClientSecret, SecretERPAccessKey, SecretAvailabilityKey}

// Secrets is what setup needs from the secret store (secret.Box
// implements it); a value never leaves it except to build a client.
type Secrets interface {
	Put(ctx context.Context, owner, name, value string) error
	Get(ctx context.Context, owner, name string) (string, error)
	IsSet(ctx context.Context, owner, name string) (bool, error)
}

// Connections is what setup needs from the store (store.Store implements it).
type Connections interface {
	GetConnection(ctx context.Context, name string) (ConnectionSetup, error)
	PutConnection(ctx context.Context, c ConnectionSetup) error
}
