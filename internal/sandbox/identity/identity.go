// Package identity is the sandbox's stand-in for the Microsoft identity
// platform: a token endpoint that speaks the same OAuth 2.0 dialect
// (client credentials, resource-owner password, refresh token), answers
// wrong credentials with AADSTS-shaped errors, and issues HMAC-signed JWT
// bearer tokens that the simulators verify locally.
package identity

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"
)

// DefaultTenant is the directory (tenant) id used when Options.Tenant is
// empty. It is a fixed GUID so that URLs built from it are stable.
const DefaultTenant = "3f5c1a2e-7b9d-4e61-8c0f-2a4b6d8e0c17"

// SamplePublicClientID is the application id Microsoft publishes for
// samples and that Dataverse connection strings commonly use with the
// OAuth (user + password) authentication type; it is accepted as a public
// client for the password grant.
const SamplePublicClientID = "51f81489-12ee-4a9e-aaae-a2591f45987d"

// Verification errors, checked with errors.Is.
var (
	ErrExpired       = errors.New("identity: token expired")
	ErrInvalidToken  = errors.New("identity: invalid token")
	ErrWrongAudience = errors.New("identity: token issued for another audience")
)

// Options configures an Issuer.
type Options struct {
	Logger *slog.Logger
	Clock  func() time.Time
	// TTL is the access token lifetime; default 1 hour like Entra ID.
	TTL    time.Duration
	Tenant string
	// Key signs tokens; default 32 random bytes (tokens die with the process).
	Key []byte
}

// Claims is what a verified access token says about its caller.
type Claims struct {
	Subject   string
	ClientID  string
	UserName  string
	Audience  string
	Tenant    string
	ExpiresAt time.Time
}

type client struct {
	secret  string // empty for a public client or a certificate-only one
	subject string
	public  bool
	// certs holds the registered certificates by base64url SHA-1 (x5t) and
	// SHA-256 (x5t#S256) thumbprint, for client assertions.
	certs map[string]*x509.Certificate
}

type user struct {
	password string
	subject  string
}

// Issuer holds the registered applications and users and signs tokens.
type Issuer struct {
	log    *slog.Logger
	clock  func() time.Time
	ttl    time.Duration
	tenant string
	key    []byte

	mu      sync.RWMutex
	clients map[string]client
	users   map[string]user // keyed by lower-cased user name

	// verified caches the claims of tokens whose signature checked out:
	// clients reuse one token for an hour, and every simulator request
	// verifies it.
	verifiedMu sync.RWMutex
	verified   map[string]tokenClaims
}

const verifiedCacheSize = 4096

// New returns an Issuer with no clients or users except the well-known
// sample public client.
func New(opts Options) *Issuer {
	i := &Issuer{
		log:      opts.Logger,
		clock:    opts.Clock,
		ttl:      opts.TTL,
		tenant:   opts.Tenant,
		key:      opts.Key,
		clients:  map[string]client{},
		users:    map[string]user{},
		verified: map[string]tokenClaims{},
	}
	if i.log == nil {
		i.log = slog.New(slog.DiscardHandler)
	}
	if i.clock == nil {
		i.clock = time.Now
	}
	if i.ttl <= 0 {
		i.ttl = time.Hour
	}
	if i.tenant == "" {
		i.tenant = DefaultTenant
	}
	if len(i.key) == 0 {
		i.key = make([]byte, 32)
		if _, err := rand.Read(i.key); err != nil {
			// crypto/rand never fails on supported platforms (Go 1.24+ crashes instead).
			panic(fmt.Sprintf("identity: reading random key: %v", err))
		}
	}
	i.RegisterPublicClient(SamplePublicClientID)
	return i
}

// Tenant returns the directory id served by this issuer.
func (i *Issuer) Tenant() string { return i.tenant }

// TTL returns the access token lifetime.
func (i *Issuer) TTL() time.Duration { return i.ttl }

// RegisterClient adds a confidential application for the client-credentials
// grant; subject is the simulator's user id for that application user.
func (i *Issuer) RegisterClient(clientID, secret, subject string) {
	i.mu.Lock()
	defer i.mu.Unlock()
	key := strings.ToLower(clientID)
	c := i.clients[key] // keep registered certificates
	c.secret, c.subject, c.public = secret, subject, false
	i.clients[key] = c
}

// RegisterPublicClient adds an application that may use the password grant
// without a secret.
func (i *Issuer) RegisterPublicClient(clientID string) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.clients[strings.ToLower(clientID)] = client{public: true}
}

// RegisterUser adds a user for the resource-owner password grant; subject is
// the simulator's user id for that user.
func (i *Issuer) RegisterUser(userName, password, subject string) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.users[strings.ToLower(userName)] = user{password: password, subject: subject}
}

func (i *Issuer) lookupClient(id string) (client, bool) {
	i.mu.RLock()
	defer i.mu.RUnlock()
	c, ok := i.clients[strings.ToLower(id)]
	return c, ok
}

func (i *Issuer) lookupUser(name string) (user, bool) {
	i.mu.RLock()
	defer i.mu.RUnlock()
	u, ok := i.users[strings.ToLower(name)]
	return u, ok
}

// tokenClaims is the JWT payload; names follow Entra ID v1 access tokens.
type tokenClaims struct {
	Aud     string `json:"aud"`
	Iss     string `json:"iss"`
	Iat     int64  `json:"iat"`
	Nbf     int64  `json:"nbf"`
	Exp     int64  `json:"exp"`
	AppID   string `json:"appid"`
	Sub     string `json:"sub"`
	Oid     string `json:"oid,omitempty"`
	UPN     string `json:"upn,omitempty"`
	Tid     string `json:"tid"`
	Ver     string `json:"ver"`
	Scp     string `json:"scp,omitempty"`
	Refresh bool   `json:"rt,omitempty"` // set on refresh tokens, which are not access tokens
}

var jwtHeader = base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))

func (i *Issuer) sign(c tokenClaims) string {
	payload, err := json.Marshal(c)
	if err != nil {
		// Only strings and ints: cannot fail.
		panic(fmt.Sprintf("identity: marshal claims: %v", err))
	}
	unsigned := jwtHeader + "." + base64.RawURLEncoding.EncodeToString(payload)
	return unsigned + "." + i.mac(unsigned)
}

func (i *Issuer) mac(s string) string {
	h := hmac.New(sha256.New, i.key)
	h.Write([]byte(s))
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil))
}

// parse checks the signature and decodes the claims, without time checks.
func (i *Issuer) parse(token string) (tokenClaims, error) {
	var c tokenClaims
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return c, fmt.Errorf("%w: not a JWT (want header.payload.signature)", ErrInvalidToken)
	}
	if parts[0] != jwtHeader {
		return c, fmt.Errorf("%w: unsupported JWT header", ErrInvalidToken)
	}
	want := i.mac(parts[0] + "." + parts[1])
	if subtle.ConstantTimeCompare([]byte(want), []byte(parts[2])) != 1 {
		return c, fmt.Errorf("%w: signature does not match (token not issued by this sandbox, or altered)", ErrInvalidToken)
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return c, fmt.Errorf("%w: payload is not base64url: %v", ErrInvalidToken, err)
	}
	if err := json.Unmarshal(payload, &c); err != nil {
		return c, fmt.Errorf("%w: payload is not JSON: %v", ErrInvalidToken, err)
	}
	return c, nil
}

// Verify checks a bearer token's signature, lifetime and audience. An empty
// audience accepts any. Audiences compare without trailing slashes and
// case-insensitively, as Entra ID resource ids do. With ErrExpired or
// ErrWrongAudience the decoded claims are returned too, for logging.
func (i *Issuer) Verify(token, audience string) (Claims, error) {
	i.verifiedMu.RLock()
	c, ok := i.verified[token]
	i.verifiedMu.RUnlock()
	if !ok {
		var err error
		if c, err = i.parse(token); err != nil {
			return Claims{}, err
		}
		i.verifiedMu.Lock()
		if len(i.verified) >= verifiedCacheSize {
			clear(i.verified) // bounded; a miss only costs one HMAC
		}
		i.verified[token] = c
		i.verifiedMu.Unlock()
	}
	if c.Refresh {
		return Claims{}, fmt.Errorf("%w: a refresh token cannot be used as an access token", ErrInvalidToken)
	}
	claims := Claims{
		Subject:   c.Sub,
		ClientID:  c.AppID,
		UserName:  c.UPN,
		Audience:  c.Aud,
		Tenant:    c.Tid,
		ExpiresAt: time.Unix(c.Exp, 0).UTC(),
	}
	now := i.clock()
	if !now.Before(claims.ExpiresAt) {
		return claims, fmt.Errorf("%w: it expired at %s", ErrExpired, claims.ExpiresAt.Format(time.RFC3339))
	}
	if now.Before(time.Unix(c.Nbf, 0)) {
		return claims, fmt.Errorf("%w: not valid before %s", ErrInvalidToken, time.Unix(c.Nbf, 0).UTC().Format(time.RFC3339))
	}
	if c.Tid != i.tenant {
		return claims, fmt.Errorf("%w: issued for tenant %q, this sandbox is %q", ErrInvalidToken, c.Tid, i.tenant)
	}
	if audience != "" && normalizeResource(c.Aud) != normalizeResource(audience) {
		return claims, fmt.Errorf("%w: token audience is %q, this service is %q (request the scope %s/.default)",
			ErrWrongAudience, c.Aud, audience, strings.TrimRight(audience, "/"))
	}
	return claims, nil
}

// BearerToken extracts the token of an "Authorization: Bearer …" header.
func BearerToken(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	const prefix = "bearer "
	if len(h) <= len(prefix) || !strings.EqualFold(h[:len(prefix)], prefix) {
		return "", false
	}
	tok := strings.TrimSpace(h[len(prefix):])
	return tok, tok != ""
}

func normalizeResource(s string) string {
	return strings.ToLower(strings.TrimRight(strings.TrimSpace(s), "/"))
}
