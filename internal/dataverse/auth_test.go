package dataverse

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1" //nolint:gosec // thumbprints
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coupler/coupler/internal/sandbox/identity"
	"github.com/stretchr/testify/require"
)

const testOrg = "http://127.0.0.1:5555"

func issuerSetup(t *testing.T) (*identity.Issuer, string) {
	t.Helper()
	iss := identity.New(identity.Options{})
	iss.RegisterClient("app-1", "s3cret", "00000000-0000-0000-0000-0000000000a1")
	iss.RegisterUser("integration@contoso.com", "pa55", "00000000-0000-0000-0000-0000000000b2")
	srv := httptest.NewServer(iss.Handler())
	t.Cleanup(srv.Close)
	return iss, srv.URL + "/" + iss.Tenant() + "/oauth2/v2.0/token"
}

func TestTokenSourcesAgainstIdentityIssuer(t *testing.T) {
	t.Parallel()
	iss, tokenURL := issuerSetup(t)
	tests := []struct {
		name    string
		conn    string
		subject string
		wantErr string
	}{
		{"client secret", "AuthType=ClientSecret;Url=" + testOrg + ";ClientId=app-1;ClientSecret=s3cret", "00000000-0000-0000-0000-0000000000a1", ""},
		{"office365 password grant", "AuthType=Office365;Url=" + testOrg + ";UserName=integration@contoso.com;Password=pa55", "00000000-0000-0000-0000-0000000000b2", ""},
		{"oauth password grant", "AuthType=OAuth;Url=" + testOrg + ";AppId=" + DefaultPublicClientID + ";RedirectUri=app://x;UserName=integration@contoso.com;Password=pa55;LoginPrompt=Never", "00000000-0000-0000-0000-0000000000b2", ""},
		{"wrong secret", "AuthType=ClientSecret;Url=" + testOrg + ";ClientId=app-1;ClientSecret=nope", "", "AADSTS"},
		{"wrong password", "AuthType=Office365;Url=" + testOrg + ";UserName=integration@contoso.com;Password=nope", "", "AADSTS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			conn, err := ParseConnectionString(tt.conn)
			require.NoError(t, err)
			ts, err := NewTokenSource(context.Background(), AuthConfig{Conn: conn, TokenURL: tokenURL})
			require.NoError(t, err)
			tok, err := ts.TokenContext(context.Background())
			if tt.wantErr != "" {
				require.ErrorIs(t, err, ErrUnauthorized)
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			claims, err := iss.Verify(tok.AccessToken, testOrg)
			require.NoError(t, err)
			require.Equal(t, tt.subject, claims.Subject)
			// Cached until invalidated.
			again, err := ts.Token()
			require.NoError(t, err)
			require.Equal(t, tok.AccessToken, again.AccessToken)
			ts.Invalidate(tok.AccessToken)
			fresh, err := ts.Token()
			require.NoError(t, err)
			require.NotEmpty(t, fresh.AccessToken)
		})
	}
}

func selfSigned(t *testing.T) (certPEM, keyPEM []byte, cert *x509.Certificate, key *rsa.PrivateKey) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "coupler"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert, err = x509.ParseCertificate(der)
	require.NoError(t, err)
	pk8, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(t, err)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pk8}), cert, key
}

func TestCertificateAssertion(t *testing.T) {
	t.Parallel()
	certPEM, keyPEM, cert, key := selfSigned(t)
	sum := sha1.Sum(cert.Raw) //nolint:gosec
	thumb := strings.ToUpper(hex.EncodeToString(sum[:]))
	bundle := string(certPEM) + string(keyPEM)
	for _, form := range []string{bundle, base64.StdEncoding.EncodeToString([]byte(bundle))} {
		conn := ConnectionString{AuthType: AuthCertificate, URL: testOrg, ClientID: "app-1", Certificate: form, Thumbprint: thumb}
		ck, err := loadCertificate(conn)
		require.NoError(t, err)
		now := time.Unix(1_800_000_000, 0)
		jwt, err := ck.assertion("app-1", "https://login.example/t/oauth2/v2.0/token", now)
		require.NoError(t, err)
		parts := strings.Split(jwt, ".")
		require.Len(t, parts, 3)
		var hdr map[string]string
		raw, _ := base64.RawURLEncoding.DecodeString(parts[0])
		require.NoError(t, json.Unmarshal(raw, &hdr))
		require.Equal(t, "RS256", hdr["alg"])
		require.Equal(t, base64.RawURLEncoding.EncodeToString(sum[:]), hdr["x5t"])
		var claims map[string]any
		raw, _ = base64.RawURLEncoding.DecodeString(parts[1])
		require.NoError(t, json.Unmarshal(raw, &claims))
		require.Equal(t, "https://login.example/t/oauth2/v2.0/token", claims["aud"])
		require.Equal(t, "app-1", claims["iss"])
		require.Equal(t, "app-1", claims["sub"])
		require.InDelta(t, float64(now.Add(10*time.Minute).Unix()), claims["exp"], 0)
		sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
		h := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
		require.NoError(t, rsa.VerifyPKCS1v15(&key.PublicKey, crypto.SHA256, h[:], sig))
	}

	var ce *ConnStringError
	_, err := loadCertificate(ConnectionString{AuthType: AuthCertificate, Certificate: bundle, Thumbprint: "00"})
	require.ErrorAs(t, err, &ce)
	require.Equal(t, "Thumbprint", ce.Key)
	_, err = loadCertificate(ConnectionString{AuthType: AuthCertificate, Certificate: string(certPEM)})
	require.ErrorAs(t, err, &ce)
	require.Contains(t, ce.Problem, "private key")
	_, err = loadCertificate(ConnectionString{AuthType: AuthCertificate, Thumbprint: thumb})
	require.ErrorAs(t, err, &ce)
	require.Contains(t, ce.Fix, "{CERTIFICATE}")
	_, err = loadCertificate(ConnectionString{AuthType: AuthCertificate, Certificate: "%%%"})
	require.ErrorAs(t, err, &ce)
}

func TestADIsRefusedWithAFix(t *testing.T) {
	t.Parallel()
	conn, err := ParseConnectionString("AuthType=AD;Url=https://crm.contoso.local/org")
	require.NoError(t, err)
	_, err = NewTokenSource(context.Background(), AuthConfig{Conn: conn, TokenURL: "https://adfs/token"})
	var ce *ConnStringError
	require.ErrorAs(t, err, &ce)
	require.Equal(t, "AuthType", ce.Key)
	require.Contains(t, ce.Fix, "IFD")
}

func TestTokenURLFromChallenge(t *testing.T) {
	t.Parallel()
	tests := []struct{ challenge, want, err string }{
		{`Bearer authorization_uri=https://login.microsoftonline.com/3f5c1a2e-7b9d-4e61-8c0f-2a4b6d8e0c17/oauth2/authorize, resource_id=https://contoso.crm.dynamics.com/`,
			"https://login.microsoftonline.com/3f5c1a2e-7b9d-4e61-8c0f-2a4b6d8e0c17/oauth2/v2.0/token", ""},
		{`Bearer authorization_uri="https://login.microsoftonline.com/t/oauth2/v2.0/authorize"`, "https://login.microsoftonline.com/t/oauth2/v2.0/token", ""},
		{`Bearer authorization_uri=https://sts.contoso.com/adfs/oauth2/authorize, resource_id=https://crm.contoso.com/`, "https://sts.contoso.com/adfs/oauth2/token", ""},
		{`Bearer realm=""`, "", "no authorization_uri"},
		{`Bearer authorization_uri=not-a-url`, "", "not an absolute URL"},
		{``, "", "no authorization_uri"},
	}
	for _, tt := range tests {
		got, err := tokenURLFromChallenge(tt.challenge)
		if tt.err != "" {
			require.ErrorContains(t, err, tt.err)
			continue
		}
		require.NoError(t, err)
		require.Equal(t, tt.want, got)
	}
}

func TestCertificateGrantAgainstIdentityIssuer(t *testing.T) {
	t.Parallel()
	iss, tokenURL := issuerSetup(t)
	certPEM, keyPEM, cert, _ := selfSigned(t)
	require.NoError(t, iss.RegisterCertificate("app-cert", cert, "00000000-0000-0000-0000-0000000000c3"))
	conn, err := ParseConnectionString("AuthType=Certificate;Url=" + testOrg + ";ClientId=app-cert;Certificate={CERTIFICATE}")
	require.NoError(t, err)
	conn, err = conn.Fill(Secrets{Certificate: base64.StdEncoding.EncodeToString(append(certPEM, keyPEM...))})
	require.NoError(t, err)
	ts, err := NewTokenSource(context.Background(), AuthConfig{Conn: conn, TokenURL: tokenURL})
	require.NoError(t, err)
	tok, err := ts.Token()
	require.NoError(t, err)
	claims, err := iss.Verify(tok.AccessToken, testOrg)
	require.NoError(t, err)
	require.Equal(t, "00000000-0000-0000-0000-0000000000c3", claims.Subject)

	// Another key pair than the registered certificate's is refused.
	otherCert, otherKey, _, _ := selfSigned(t)
	conn.Certificate = string(otherCert) + string(otherKey)
	ts, err = NewTokenSource(context.Background(), AuthConfig{Conn: conn, TokenURL: tokenURL})
	require.NoError(t, err)
	_, err = ts.Token()
	require.ErrorIs(t, err, ErrUnauthorized)
	require.ErrorContains(t, err, "AADSTS")
}
