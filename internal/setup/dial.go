package setup

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/coupler/coupler/internal/bc"
	"github.com/coupler/coupler/internal/dataverse"
)

// DialOptions tune the clients built from a setup.
type DialOptions struct {
	HTTPClient *http.Client // nil: default transport (system trust store)
	Logger     *slog.Logger
	// Interactive makes the clients give up fast (few retries, short
	// timeouts): a connection test should answer in seconds, not minutes.
	Interactive bool
	// Pacers hands out the request budget of each API user; nil: every
	// client keeps its own in-process limiter, which is right only while
	// one instance uses the user (ratelimit.ClientPacers decides).
	Pacers Pacers
}

// Pacer takes one request turn (dataverse.Pacer and bc.Pacer alike).
type Pacer interface {
	Wait(ctx context.Context) error
}

// Pacers returns the budget of one API user of a connection's service
// ("dataverse" or "bc"): the services count requests per user.
type Pacers func(connection, service, user string) (Pacer, error)

// Services as Pacers names them (ratelimit.ServiceDataverse and ServiceBC).
const (
	paceCRM = "dataverse"
	paceERP = "bc"
)

// pacer is o's budget for one user, nil without Pacers.
func (o DialOptions) pacer(connection, service, user string) (Pacer, error) {
	if o.Pacers == nil {
		return nil, nil
	}
	return o.Pacers(connection, service, strings.ToLower(user))
}

// crmUser is the user Dataverse counts the requests of: the application
// user (client id) or the interactive user.
func crmUser(c CRMSettings) string {
	if c.AuthType == AuthClientSecret || c.AuthType == AuthCertificate {
		return c.ClientID
	}
	return c.UserName
}

// erpUser is the user Business Central counts the requests of.
func erpUser(e ERPSettings) string {
	if e.AuthType == "basic" {
		return e.UserName
	}
	return e.ClientID
}

// ErrSecretMissing is returned when a setup names a credential that is not
// stored.
var ErrSecretMissing = errors.New("secret not stored")

// crmSecretName is the secret the CRM's authentication type needs.
func crmSecretName(a AuthType) string {
	switch a {
	case AuthClientSecret:
		return SecretCRMClientSecret
	case AuthCertificate:
		return SecretCRMCertificate
	}
	return SecretCRMPassword
}

func readSecret(ctx context.Context, s Secrets, owner, name, field string) (string, error) {
	ok, err := s.IsSet(ctx, owner, name)
	if err != nil {
		return "", err
	}
	if !ok {
		return "", &FieldError{Field: field, Problem: "is not set", Fix: "run `coupler setup` to enter it", Err: ErrSecretMissing}
	}
	return s.Get(ctx, owner, name)
}

// DialCRM builds the Dataverse client of a setup, filling the connection
// string's placeholder from the secret store.
func DialCRM(ctx context.Context, c ConnectionSetup, s Secrets, o DialOptions) (*dataverse.Client, error) {
	field := map[string]string{SecretCRMPassword: "crm.password", SecretCRMClientSecret: "crm.client-secret", SecretCRMCertificate: "crm.certificate"}
	name := crmSecretName(c.CRM.AuthType)
	secret, err := readSecret(ctx, s, c.Name, name, field[name])
	if err != nil {
		return nil, err
	}
	conn, err := FillConnection(c.CRM, secret)
	if err != nil {
		return nil, err
	}
	cfg := dataverse.Config{URL: c.CRM.URL, APIVersion: c.CRM.APIVersion, Conn: &conn, TokenURL: c.CRM.TokenURL,
		HTTPClient: o.HTTPClient, Logger: o.Logger}
	if o.Interactive {
		cfg.MaxAttempts, cfg.Timeout, cfg.BaseBackoff, cfg.MaxBackoff = 2, 20*time.Second, 200*time.Millisecond, time.Second
	}
	p, err := o.pacer(c.Name, paceCRM, crmUser(c.CRM))
	if err != nil {
		return nil, fmt.Errorf("connect to the CRM: the request budget: %w", err)
	}
	if p != nil {
		cfg.Pacer = p
	}
	cl, err := dataverse.New(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to the CRM: %w", err)
	}
	return cl, nil
}

// DialERP builds the Business Central client of a setup.
func DialERP(ctx context.Context, c ConnectionSetup, s Secrets, o DialOptions) (*bc.Client, error) {
	cfg := bc.Config{APIURL: c.ERP.APIURL, CompanyID: c.ERP.CompanyID, HTTPClient: o.HTTPClient, Logger: o.Logger}
	if c.ERP.AuthType == "basic" {
		key, err := readSecret(ctx, s, c.Name, SecretERPAccessKey, "erp.web-service-key")
		if err != nil {
			return nil, err
		}
		cfg.Basic = &bc.Basic{User: c.ERP.UserName, WebServiceKey: key}
	} else {
		secret, err := readSecret(ctx, s, c.Name, SecretERPClientSecret, "erp.client-secret")
		if err != nil {
			return nil, err
		}
		cfg.OAuth = &bc.OAuth{ClientID: c.ERP.ClientID, ClientSecret: secret, TokenURL: c.ERP.TokenURL}
		if c.ERP.Scope != "" {
			cfg.OAuth.Scopes = []string{c.ERP.Scope}
		}
	}
	if o.Interactive {
		cfg.MaxRetries, cfg.Timeout, cfg.MaxBackoff, cfg.MaxRetryAfter = 1, 20*time.Second, time.Second, 5*time.Second
		cfg.Sleep = func(ctx context.Context, d time.Duration) error {
			t := time.NewTimer(min(d, time.Second))
			defer t.Stop()
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-t.C:
				return nil
			}
		}
	}
	p, err := o.pacer(c.Name, paceERP, erpUser(c.ERP))
	if err != nil {
		return nil, fmt.Errorf("connect to the ERP: the request budget: %w", err)
	}
	if p != nil {
		cfg.Pacer = p
	}
	cl, err := bc.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to the ERP: %w", err)
	}
	return cl, nil
}
