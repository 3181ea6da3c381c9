package identity

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// jwtBearer is the client_assertion_type of certificate credentials.
const jwtBearer = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// RegisterCertificate lets clientID authenticate with a client assertion
// (a JWT signed RS256 or PS256 by the certificate's RSA key, naming it by
// its x5t or x5t#S256 thumbprint), as Entra ID certificate credentials do.
// It can be combined with a secret from RegisterClient.
func (i *Issuer) RegisterCertificate(clientID string, cert *x509.Certificate, subject string) error {
	if _, ok := cert.PublicKey.(*rsa.PublicKey); !ok {
		return fmt.Errorf("identity: certificate %q has a %T key; only RSA keys sign client assertions", cert.Subject.CommonName, cert.PublicKey)
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	key := strings.ToLower(clientID)
	c := i.clients[key]
	c.subject, c.public = subject, false
	if c.certs == nil {
		c.certs = map[string]*x509.Certificate{}
	}
	s1, s256 := sha1.Sum(cert.Raw), sha256.Sum256(cert.Raw)
	c.certs["x5t:"+base64.RawURLEncoding.EncodeToString(s1[:])] = cert
	c.certs["x5t#S256:"+base64.RawURLEncoding.EncodeToString(s256[:])] = cert
	i.clients[key] = c
	return nil
}

type assertionHeader struct {
	Alg     string `json:"alg"`
	Typ     string `json:"typ"`
	X5t     string `json:"x5t"`
	X5tS256 string `json:"x5t#S256"`
}

type assertionClaims struct {
	Aud string `json:"aud"`
	Iss string `json:"iss"`
	Sub string `json:"sub"`
	Exp int64  `json:"exp"`
	Nbf int64  `json:"nbf"`
	Jti string `json:"jti"`
}

func badAssertion(code int, format string, args ...any) *aadError {
	return &aadError{status: http.StatusUnauthorized, err: "invalid_client", code: code, msg: fmt.Sprintf(format, args...)}
}

// checkAssertion authenticates a client by its client_assertion; id is the
// client_id parameter ("" to take it from the assertion).
func (i *Issuer) checkAssertion(r *http.Request, id string) (string, client, *aadError) {
	if t := r.PostForm.Get("client_assertion_type"); t != jwtBearer {
		return "", client{}, &aadError{status: http.StatusBadRequest, err: "invalid_request", code: 50027,
			msg: fmt.Sprintf("client_assertion_type %q is not supported; use %s.", t, jwtBearer)}
	}
	raw := r.PostForm.Get("client_assertion")
	if raw == "" {
		return "", client{}, missing("client_assertion")
	}
	malformed := func(why string) *aadError {
		return &aadError{status: http.StatusBadRequest, err: "invalid_request", code: 50027,
			msg: "JWT token is invalid or malformed: " + why}
	}
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return "", client{}, malformed("the client assertion is not header.payload.signature")
	}
	var h assertionHeader
	var c assertionClaims
	for k, into := range []any{&h, &c} {
		b, err := base64.RawURLEncoding.DecodeString(parts[k])
		if err == nil {
			err = json.Unmarshal(b, into)
		}
		if err != nil {
			return "", client{}, malformed(fmt.Sprintf("part %d is not base64url JSON: %v", k+1, err))
		}
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return "", client{}, malformed("the signature is not base64url")
	}
	if id == "" {
		id = c.Iss
	}
	if c.Iss != id || c.Sub != id {
		return "", client{}, badAssertion(700021, "Client assertion application identifier doesn't match 'client_id' parameter: iss and sub must both be '%s'.", id)
	}
	cl, ok := i.lookupClient(id)
	if !ok {
		return "", client{}, &aadError{status: http.StatusBadRequest, err: "unauthorized_client", code: 700016,
			msg: fmt.Sprintf("Application with identifier '%s' was not found in the directory '%s'.", id, i.tenant)}
	}
	var cert *x509.Certificate
	switch {
	case h.X5tS256 != "":
		cert = cl.certs["x5t#S256:"+h.X5tS256]
	case h.X5t != "":
		cert = cl.certs["x5t:"+h.X5t]
	default:
		return "", client{}, malformed("the header names no certificate (x5t or x5t#S256)")
	}
	if cert == nil {
		return "", client{}, badAssertion(700027, "The certificate with identifier used to sign the client assertion is not registered on application '%s'.", id)
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	pub := cert.PublicKey.(*rsa.PublicKey)
	switch h.Alg {
	case "RS256":
		err = rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig)
	case "PS256":
		err = rsa.VerifyPSS(pub, crypto.SHA256, digest[:], sig, nil)
	default:
		return "", client{}, malformed(fmt.Sprintf("alg %q is not supported; use RS256 or PS256", h.Alg))
	}
	if err != nil {
		return "", client{}, badAssertion(700027, "Client assertion failed signature validation.")
	}
	now := i.clock()
	if c.Exp == 0 || !now.Before(time.Unix(c.Exp, 0)) || c.Nbf != 0 && now.Before(time.Unix(c.Nbf, 0)) {
		return "", client{}, badAssertion(700024, "Client assertion is not within its valid time range. Current time: %s, assertion valid from %s, expiry time of assertion %s.",
			now.UTC().Format(time.RFC3339), time.Unix(c.Nbf, 0).UTC().Format(time.RFC3339), time.Unix(c.Exp, 0).UTC().Format(time.RFC3339))
	}
	if !i.tokenEndpointAudience(r, c.Aud) {
		return "", client{}, badAssertion(700024, "Client assertion audience claim '%s' does not match the token endpoint '%s'.", c.Aud, requestURL(r))
	}
	return id, cl, nil
}

// tokenEndpointAudience accepts the URL the request came to, or the
// login.microsoftonline.com form of this tenant's endpoints.
func (i *Issuer) tokenEndpointAudience(r *http.Request, aud string) bool {
	aud = strings.TrimRight(aud, "/")
	for _, ok := range []string{
		requestURL(r),
		"https://login.microsoftonline.com/" + i.tenant + "/oauth2/v2.0/token",
		"https://login.microsoftonline.com/" + i.tenant + "/oauth2/token",
	} {
		if strings.EqualFold(aud, ok) {
			return true
		}
	}
	return false
}

func requestURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + r.URL.Path
}
