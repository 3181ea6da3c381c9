package identity

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func newCert(t *testing.T) (*rsa.PrivateKey, *x509.Certificate) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "coupler test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	return key, cert
}

type assertionSpec struct {
	alg      string // RS256 or PS256
	key      *rsa.PrivateKey
	cert     *x509.Certificate
	iss, aud string
	exp      time.Time
}

func makeAssertion(t *testing.T, a assertionSpec) string {
	t.Helper()
	h := map[string]string{"alg": a.alg, "typ": "JWT"}
	if a.alg == "PS256" {
		sum := sha256.Sum256(a.cert.Raw)
		h["x5t#S256"] = base64.RawURLEncoding.EncodeToString(sum[:])
	} else {
		sum := sha1.Sum(a.cert.Raw)
		h["x5t"] = base64.RawURLEncoding.EncodeToString(sum[:])
	}
	enc := func(v any) string {
		b, err := json.Marshal(v)
		require.NoError(t, err)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	unsigned := enc(h) + "." + enc(map[string]any{"aud": a.aud, "iss": a.iss, "sub": a.iss, "jti": newUUID(),
		"nbf": a.exp.Add(-10 * time.Minute).Unix(), "exp": a.exp.Unix()})
	digest := sha256.Sum256([]byte(unsigned))
	var sig []byte
	var err error
	if a.alg == "PS256" {
		sig, err = rsa.SignPSS(rand.Reader, a.key, crypto.SHA256, digest[:], nil)
	} else {
		sig, err = rsa.SignPKCS1v15(rand.Reader, a.key, crypto.SHA256, digest[:])
	}
	require.NoError(t, err)
	return unsigned + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func TestClientAssertion(t *testing.T) {
	t.Parallel()
	b := setup(t)
	key, cert := newCert(t)
	otherKey, otherCert := newCert(t)
	require.NoError(t, b.issuer.RegisterCertificate("cert-app", cert, "user-cert-app"))
	exp := b.clock.Now().Add(5 * time.Minute)
	good := assertionSpec{alg: "RS256", key: key, cert: cert, iss: "cert-app", aud: b.tokenURL, exp: exp}

	post := func(clientID, assertion string) (*http.Response, map[string]any) {
		form := url.Values{"grant_type": {"client_credentials"}, "scope": {crmAudience + "/.default"},
			"client_assertion_type": {jwtBearer}, "client_assertion": {assertion}}
		if clientID != "" {
			form.Set("client_id", clientID)
		}
		resp, err := http.PostForm(b.tokenURL, form)
		require.NoError(t, err)
		defer resp.Body.Close()
		var body map[string]any
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
		return resp, body
	}

	for _, spec := range []assertionSpec{good, {alg: "PS256", key: key, cert: cert, iss: "cert-app",
		aud: "https://login.microsoftonline.com/" + b.issuer.Tenant() + "/oauth2/v2.0/token", exp: exp}} {
		for _, id := range []string{"cert-app", ""} {
			resp, body := post(id, makeAssertion(t, spec))
			require.Equal(t, http.StatusOK, resp.StatusCode, "%v", body)
			claims, err := b.issuer.Verify(body["access_token"].(string), crmAudience)
			require.NoError(t, err)
			require.Equal(t, "user-cert-app", claims.Subject)
			require.Equal(t, "cert-app", claims.ClientID)
		}
	}

	bad := func(mod func(*assertionSpec)) string {
		s := good
		mod(&s)
		return makeAssertion(t, s)
	}
	tests := []struct {
		name, clientID, assertion string
		code                      float64
	}{
		{"signed by another key", "cert-app", bad(func(s *assertionSpec) { s.key = otherKey }), 700027},
		{"unregistered certificate", "cert-app", bad(func(s *assertionSpec) { s.key, s.cert = otherKey, otherCert }), 700027},
		{"expired", "cert-app", bad(func(s *assertionSpec) { s.exp = b.clock.Now().Add(-time.Second) }), 700024},
		{"audience", "cert-app", bad(func(s *assertionSpec) { s.aud = "https://example.com/token" }), 700024},
		{"iss is another app", "cert-app", bad(func(s *assertionSpec) { s.iss = "crm-app" }), 700021},
		{"malformed", "cert-app", "abc.def", 50027},
		{"unknown app", "", bad(func(s *assertionSpec) { s.iss = "ghost" }), 700016},
	}
	for _, tt := range tests {
		resp, body := post(tt.clientID, tt.assertion)
		require.NotEqual(t, http.StatusOK, resp.StatusCode, tt.name)
		require.Equal(t, []any{tt.code}, body["error_codes"], "%s: %v", tt.name, body)
		require.Nil(t, body["access_token"])
	}

	// A certificate does not replace the secret of a client that has both.
	require.NoError(t, b.issuer.RegisterCertificate("crm-app", cert, "user-crm-app"))
	resp, body := post("crm-app", makeAssertion(t, assertionSpec{alg: "RS256", key: key, cert: cert, iss: "crm-app", aud: b.tokenURL, exp: exp}))
	require.Equal(t, http.StatusOK, resp.StatusCode, "%v", body)
	resp2, err := http.PostForm(b.tokenURL, url.Values{"grant_type": {"client_credentials"}, "client_id": {"crm-app"},
		"client_secret": {"s3cret"}, "scope": {crmAudience + "/.default"}})
	require.NoError(t, err)
	resp2.Body.Close()
	require.Equal(t, http.StatusOK, resp2.StatusCode)
}
