package setup

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"

	"github.com/coupler/coupler/internal/bc"
	"github.com/coupler/coupler/internal/dataverse"
)

// failure is a failed call, sorted into what the user can act on.
type failure struct {
	stage  string // "reach", "auth" or "call"
	reason string
	fix    string
}

// classify turns a client error into a reason and a fix. side is "CRM" or
// "ERP"; addr the address that was called; credFields the setup fields
// holding the credentials.
func classify(err error, side, addr, credFields string) failure {
	var (
		dnsErr   *net.DNSError
		unknown  x509.UnknownAuthorityError
		hostErr  x509.HostnameError
		invalid  x509.CertificateInvalidError
		verify   *tls.CertificateVerificationError
		recErr   tls.RecordHeaderError
		opErr    *net.OpError
		dvAPIErr *dataverse.APIError
		bcAPIErr *bc.APIError
	)
	switch {
	case errors.As(err, &dnsErr):
		return failure{"reach", fmt.Sprintf("the host name %s does not resolve (%s)", dnsErr.Name, dnsErr.Err),
			fmt.Sprintf("check the %s URL for typos and this machine's DNS", side)}
	case errors.As(err, &unknown) || errors.As(err, &verify) && errors.As(verify.Err, &unknown):
		return failure{"reach", fmt.Sprintf("the TLS certificate of %s is not trusted (signed by an unknown authority)", addr),
			"install the certificate's issuing CA in this machine's trust store, or give the server a certificate from a public CA"}
	case errors.As(err, &hostErr):
		return failure{"reach", fmt.Sprintf("the TLS certificate of %s is not valid for that host name (%s)", addr, hostErr.Error()),
			fmt.Sprintf("use the host name the certificate was issued for in the %s URL", side)}
	case errors.As(err, &invalid):
		return failure{"reach", fmt.Sprintf("the TLS certificate of %s is invalid (%s)", addr, invalid.Error()),
			"renew or fix the server's certificate"}
	case errors.As(err, &verify):
		return failure{"reach", fmt.Sprintf("the TLS certificate of %s could not be verified (%v)", addr, verify.Err),
			"fix the server's certificate chain or this machine's trust store"}
	case errors.As(err, &recErr):
		return failure{"reach", fmt.Sprintf("%s does not speak TLS (it answered plain HTTP to an https:// request)", addr),
			"check the scheme and port of the " + side + " URL"}
	case errors.Is(err, syscall.ECONNREFUSED):
		return failure{"reach", fmt.Sprintf("nothing accepts connections at %s (connection refused)", addr),
			fmt.Sprintf("check the %s URL's host and port, and that the service is running", side)}
	case errors.Is(err, context.DeadlineExceeded) || isTimeout(err):
		return failure{"reach", fmt.Sprintf("%s did not answer in time", addr),
			"check the network path (firewall, proxy) to the " + side}
	case errors.As(err, &opErr):
		return failure{"reach", fmt.Sprintf("cannot connect to %s (%v)", addr, opErr.Err),
			fmt.Sprintf("check the %s URL and the network", side)}
	case errors.Is(err, dataverse.ErrUnauthorized) || errors.Is(err, bc.ErrUnauthorized):
		msg := authMessage(err, dvAPIErr, bcAPIErr)
		fix := "check " + credFields
		if strings.Contains(msg, "is disabled") {
			return failure{"auth", "the " + side + " refused the integration user: " + msg,
				"enable the integration user in the " + side + " (Settings > Security > Users), then test again"}
		}
		if strings.Contains(strings.ToLower(msg), "expired") {
			fix = "check this machine's clock against the token endpoint's, then test again; if it persists check " + credFields
			return failure{"auth", "the " + side + " refused the access token because it had expired: " + msg, fix}
		}
		return failure{"auth", "the " + side + " refused the credentials: " + msg, fix}
	case errors.Is(err, dataverse.ErrForbidden) || errors.Is(err, bc.ErrForbidden):
		return failure{"call", "the " + side + " user lacks permission: " + shortErr(err),
			"give the integration user the permissions the integration needs"}
	case errors.Is(err, dataverse.ErrNotFound) || errors.Is(err, bc.ErrNotFound):
		return failure{"call", "the " + side + " answered 404 Not Found at " + addr + ": " + shortErr(err),
			"check the " + side + " URL (and API version)"}
	}
	var fe *FieldError
	if errors.As(err, &fe) {
		return failure{"auth", fe.Field + " " + fe.Problem, fe.Fix}
	}
	var ce *dataverse.ConnStringError
	if errors.As(err, &ce) {
		return failure{"auth", "the connection string is not usable: " + ce.Error(), "fix crm.connection-string (run `coupler setup`)"}
	}
	return failure{"call", shortErr(err), "check the " + side + " settings and that the service is healthy, then test again"}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// authMessage extracts the service's own words about a refusal.
func authMessage(err error, dv *dataverse.APIError, b *bc.APIError) string {
	if errors.As(err, &dv) && dv.Message != "" {
		// A bare 401 carries its reason in the WWW-Authenticate challenge.
		if _, rest, ok := strings.Cut(dv.Message, `error_description="`); ok {
			if desc, _, ok := strings.Cut(rest, `"`); ok {
				return desc
			}
		}
		return dv.Message
	}
	if errors.As(err, &b) && b.Message != "" {
		return b.Message
	}
	s := err.Error()
	if i := strings.Index(s, "refused "); i >= 0 {
		return s[i+len("refused "):]
	}
	return shortErr(err)
}

func shortErr(err error) string {
	s := err.Error()
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}
