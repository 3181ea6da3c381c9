package dataverse

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1" //nolint:gosec // x5t is defined as the SHA-1 thumbprint
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/pkcs12"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// DefaultPublicClientID is the application id Microsoft publishes for
// development and prototyping with OAuth user logins; used for OAuth and
// Office365 connection strings that name no AppId.
const DefaultPublicClientID = "51f81489-12ee-4a9e-aaae-a2591f45987d"

// AuthConfig says how to obtain tokens for one organisation.
type AuthConfig struct {
	Conn ConnectionString // filled (no placeholders) and valid
	// TokenURL is the OAuth 2.0 v2.0 token endpoint. Empty: discovered from
	// the WWW-Authenticate challenge of the Web API (authorization_uri).
	TokenURL   string
	HTTPClient *http.Client
	Clock      func() time.Time
}

// Scope is the OAuth scope of an organisation: "<org url>/.default".
func Scope(orgURL string) string { return strings.TrimRight(orgURL, "/") + "/.default" }

// tokenFetcher obtains a fresh token each call; tokenCache reuses it.
type tokenFetcher func(ctx context.Context) (*oauth2.Token, error)

// NewTokenSource builds the token fetcher for a connection string's
// authentication type. The result caches tokens until shortly before expiry
// and can be invalidated after a 401.
func NewTokenSource(ctx context.Context, cfg AuthConfig) (*TokenCache, error) {
	c := cfg.Conn
	if err := c.Validate(); err != nil {
		return nil, err
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	tokenURL := cfg.TokenURL
	if tokenURL == "" {
		var err error
		if tokenURL, err = DiscoverTokenURL(ctx, hc, c.URL); err != nil {
			return nil, err
		}
	}
	scope := Scope(c.URL)
	clock := cfg.Clock
	if clock == nil {
		clock = time.Now
	}
	var f tokenFetcher
	switch c.AuthType {
	case AuthClientSecret:
		cc := &clientcredentials.Config{ClientID: c.ClientID, ClientSecret: c.ClientSecret, TokenURL: tokenURL,
			Scopes: []string{scope}, AuthStyle: oauth2.AuthStyleInParams}
		f = cc.Token
	case AuthCertificate:
		cert, err := loadCertificate(c)
		if err != nil {
			return nil, err
		}
		f = func(ctx context.Context) (*oauth2.Token, error) {
			assertion, err := cert.assertion(c.ClientID, tokenURL, clock())
			if err != nil {
				return nil, err
			}
			cc := &clientcredentials.Config{ClientID: c.ClientID, TokenURL: tokenURL, Scopes: []string{scope},
				AuthStyle: oauth2.AuthStyleInParams, EndpointParams: url.Values{
					"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
					"client_assertion":      {assertion},
				}}
			return cc.Token(ctx)
		}
	case AuthOAuth, AuthOffice365, AuthIFD:
		clientID := c.ClientID
		if clientID == "" {
			clientID = DefaultPublicClientID
		}
		user := c.UserName
		if c.Domain != "" && !strings.ContainsAny(user, `\@`) {
			user = c.Domain + `\` + user
		}
		oc := &oauth2.Config{ClientID: clientID, ClientSecret: c.ClientSecret, Scopes: []string{scope},
			Endpoint: oauth2.Endpoint{TokenURL: tokenURL, AuthStyle: oauth2.AuthStyleInParams}}
		f = func(ctx context.Context) (*oauth2.Token, error) {
			return oc.PasswordCredentialsToken(ctx, user, c.Password)
		}
	case AuthAD:
		return nil, &ConnStringError{Key: "AuthType", Problem: "AD (Windows integrated/NTLM authentication) is not supported by coupler's HTTP client",
			Fix: "configure the on-premises server for claims-based authentication and use AuthType=IFD, or use OAuth"}
	default:
		return nil, &ConnStringError{Key: "AuthType", Problem: fmt.Sprintf("unsupported %q", c.AuthType), Fix: "use ClientSecret, Certificate, OAuth or Office365"}
	}
	return &TokenCache{fetch: wrapTokenErrors(f, tokenURL, c), hc: hc, clock: clock}, nil
}

func wrapTokenErrors(f tokenFetcher, tokenURL string, c ConnectionString) tokenFetcher {
	who := "client " + c.ClientID
	if c.UserName != "" {
		who = "user " + c.UserName
	}
	return func(ctx context.Context) (*oauth2.Token, error) {
		tok, err := f(ctx)
		if err == nil {
			return tok, nil
		}
		var re *oauth2.RetrieveError
		if errors.As(err, &re) {
			desc := re.ErrorDescription
			if i := strings.IndexAny(desc, "\r\n"); i > 0 {
				desc = desc[:i]
			}
			return nil, fmt.Errorf("%w: token endpoint %s refused %s: %s: %s (check the credentials in the connection string)",
				ErrUnauthorized, tokenURL, who, re.ErrorCode, desc)
		}
		return nil, fmt.Errorf("dataverse: getting a token from %s for %s: %w", tokenURL, who, err)
	}
}

// TokenCache is an oauth2.TokenSource that reuses a token until one minute
// before it expires and can be told to drop it (after a 401).
type TokenCache struct {
	fetch tokenFetcher
	hc    *http.Client
	clock func() time.Time
	mu    sync.Mutex
	tok   *oauth2.Token
}

// StaticTokenSource wraps a caller's token source (for tests or other flows).
func StaticTokenSource(ts oauth2.TokenSource) *TokenCache {
	return &TokenCache{fetch: func(context.Context) (*oauth2.Token, error) { return ts.Token() }, clock: time.Now}
}

// TokenContext returns a valid token, fetching one if needed.
func (t *TokenCache) TokenContext(ctx context.Context) (*oauth2.Token, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.tok != nil && t.tok.AccessToken != "" && (t.tok.Expiry.IsZero() || t.clock().Add(time.Minute).Before(t.tok.Expiry)) {
		return t.tok, nil
	}
	if t.hc != nil {
		ctx = context.WithValue(ctx, oauth2.HTTPClient, t.hc)
	}
	tok, err := t.fetch(ctx)
	if err != nil {
		return nil, err
	}
	t.tok = tok
	return tok, nil
}

// Token implements oauth2.TokenSource.
func (t *TokenCache) Token() (*oauth2.Token, error) { return t.TokenContext(context.Background()) }

// Invalidate drops the cached token if it is still the given one.
func (t *TokenCache) Invalidate(access string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.tok != nil && t.tok.AccessToken == access {
		t.tok = nil
	}
}

var authzURIRE = regexp.MustCompile(`(?i)authorization_uri="?([^",\s]+)"?`)

// DiscoverTokenURL asks the Web API anonymously and reads the tenant's
// authority from the 401 challenge ("Bearer authorization_uri=https://login.
// microsoftonline.com/{tenant}/oauth2/authorize, resource_id=…"), as the
// Dataverse SDKs do, then returns that authority's v2.0 token endpoint.
func DiscoverTokenURL(ctx context.Context, hc *http.Client, orgURL string) (string, error) {
	u := strings.TrimRight(orgURL, "/") + "/api/data/v9.2/"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", fmt.Errorf("dataverse: discovering the token endpoint: %w", err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return "", fmt.Errorf("dataverse: discovering the token endpoint at %s: %w", u, err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		return "", fmt.Errorf("dataverse: %s answered %d, not 401 with a Bearer challenge; set the token URL explicitly", u, resp.StatusCode)
	}
	tok, err := tokenURLFromChallenge(resp.Header.Get("WWW-Authenticate"))
	if err != nil {
		return "", fmt.Errorf("dataverse: %s: %w; set the token URL explicitly", u, err)
	}
	return tok, nil
}

// tokenURLFromChallenge turns a Bearer challenge's authorization_uri into the
// token endpoint: Microsoft Entra ID's v2.0 endpoint of that tenant, or an
// AD FS server's /adfs/oauth2/token (on-premises IFD).
func tokenURLFromChallenge(challenge string) (string, error) {
	m := authzURIRE.FindStringSubmatch(challenge)
	if m == nil {
		return "", fmt.Errorf("the challenge %q has no authorization_uri", challenge)
	}
	authz, err := url.Parse(m[1])
	if err != nil || authz.Host == "" || (authz.Scheme != "https" && authz.Scheme != "http") {
		return "", fmt.Errorf("authorization_uri %q is not an absolute URL", m[1])
	}
	authz.RawQuery, authz.Fragment = "", ""
	p := strings.TrimSuffix(authz.Path, "/")
	if strings.HasSuffix(strings.ToLower(p), "/adfs/oauth2/authorize") {
		authz.Path = p[:len(p)-len("authorize")] + "token"
		return authz.String(), nil
	}
	p = strings.TrimSuffix(strings.TrimSuffix(p, "/authorize"), "/v2.0")
	authz.Path = p + "/v2.0/token"
	return authz.String(), nil
}

// certKey is a certificate with its private key, for client assertions.
type certKey struct {
	cert *x509.Certificate
	key  crypto.Signer
}

// loadCertificate reads Certificate= as PEM (certificate + private key), or as
// base64 of PEM or of a PKCS#12 (.pfx) file without password. A Thumbprint, if
// given, must match.
func loadCertificate(c ConnectionString) (*certKey, error) {
	if c.Certificate == "" {
		return nil, &ConnStringError{Key: "Thumbprint", Problem: "looking a certificate up by thumbprint needs the Windows certificate store",
			Fix: "add Certificate={CERTIFICATE} and upload the certificate with its private key"}
	}
	raw := []byte(c.Certificate)
	if !strings.Contains(c.Certificate, "-----BEGIN") {
		dec, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(c.Certificate), ""))
		if err != nil {
			return nil, &ConnStringError{Key: "Certificate", Problem: "is neither PEM nor base64", Fix: "upload a PEM file or a .pfx file"}
		}
		raw = dec
	}
	var ck certKey
	if strings.Contains(string(raw), "-----BEGIN") {
		for rest := raw; ; {
			var b *pem.Block
			b, rest = pem.Decode(rest)
			if b == nil {
				break
			}
			switch b.Type {
			case "CERTIFICATE":
				if ck.cert == nil {
					if cert, err := x509.ParseCertificate(b.Bytes); err == nil {
						ck.cert = cert
					}
				}
			case "PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY":
				ck.key = parsePrivateKey(b.Bytes)
			}
		}
	} else {
		key, cert, err := pkcs12.Decode(raw, "")
		if err != nil {
			return nil, &ConnStringError{Key: "Certificate", Problem: "cannot read the PKCS#12 file: " + err.Error(),
				Fix: "export it without a password, or upload PEM (certificate and private key)"}
		}
		ck.cert = cert
		if s, ok := key.(crypto.Signer); ok {
			ck.key = s
		}
	}
	if ck.cert == nil {
		return nil, &ConnStringError{Key: "Certificate", Problem: "holds no X.509 certificate", Fix: "upload the certificate together with its private key"}
	}
	if _, ok := ck.key.(*rsa.PrivateKey); !ok {
		return nil, &ConnStringError{Key: "Certificate", Problem: "holds no RSA private key (Microsoft Entra ID client assertions are RS256)",
			Fix: "upload the certificate together with its RSA private key"}
	}
	if c.Thumbprint != "" {
		sum := sha1.Sum(ck.cert.Raw) //nolint:gosec // thumbprints are SHA-1 by definition
		want := strings.ToLower(strings.NewReplacer(" ", "", ":", "").Replace(c.Thumbprint))
		if hex.EncodeToString(sum[:]) != want {
			return nil, &ConnStringError{Key: "Thumbprint", Problem: "does not match the certificate given",
				Fix: "correct the thumbprint (" + strings.ToUpper(hex.EncodeToString(sum[:])) + ") or upload the right certificate"}
		}
	}
	return &ck, nil
}

func parsePrivateKey(der []byte) crypto.Signer {
	if k, err := x509.ParsePKCS8PrivateKey(der); err == nil {
		if s, ok := k.(crypto.Signer); ok {
			return s
		}
	}
	if k, err := x509.ParsePKCS1PrivateKey(der); err == nil {
		return k
	}
	if k, err := x509.ParseECPrivateKey(der); err == nil {
		return k
	}
	return nil
}

// assertion is the signed JWT of Microsoft Entra ID's certificate
// credentials: RS256, x5t = SHA-1 thumbprint, aud = token endpoint,
// iss = sub = client id, 10-minute lifetime.
func (ck *certKey) assertion(clientID, tokenURL string, now time.Time) (string, error) {
	thumb := sha1.Sum(ck.cert.Raw) //nolint:gosec // x5t is SHA-1
	hdr, _ := json.Marshal(map[string]string{"alg": "RS256", "typ": "JWT", "x5t": base64.RawURLEncoding.EncodeToString(thumb[:])})
	jti := make([]byte, 16)
	_, _ = rand.Read(jti)
	claims, _ := json.Marshal(map[string]any{"aud": tokenURL, "iss": clientID, "sub": clientID,
		"jti": hex.EncodeToString(jti), "nbf": now.Unix(), "iat": now.Unix(), "exp": now.Add(10 * time.Minute).Unix()})
	signing := base64.RawURLEncoding.EncodeToString(hdr) + "." + base64.RawURLEncoding.EncodeToString(claims)
	h := sha256.Sum256([]byte(signing))
	sig, err := ck.key.Sign(rand.Reader, h[:], crypto.SHA256)
	if err != nil {
		return "", fmt.Errorf("dataverse: signing the client assertion: %w", err)
	}
	return signing + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}
