package bc_test

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coupler/coupler/internal/bc"
	simbc "github.com/coupler/coupler/internal/sandbox/bc"
	"github.com/coupler/coupler/internal/sandbox/identity"
	"github.com/stretchr/testify/require"
)

// testBundle is a BC simulator and its token endpoint, each on its own
// loopback listener as in `coupler sandbox`, plus a client configured the way
// coupler configures it from the sandbox's ready object.
type testBundle struct {
	sim      *simbc.Server
	creds    simbc.Credentials
	baseURL  string // scheme://host of the simulator
	apiURL   string // online layout
	tokenURL string
	client   *bc.Client
}

type setupOpt struct {
	sim func(*simbc.Options)
	cfg func(*bc.Config)
}

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) { w.t.Log(string(p)); return len(p), nil }

func setup(t testing.TB, opts ...setupOpt) *testBundle {
	t.Helper()
	log := testLogger(t)
	issuer := identity.New(identity.Options{Logger: log})
	so := simbc.Options{Identity: issuer, Seed: "demo", Logger: log}
	for _, o := range opts {
		if o.sim != nil {
			o.sim(&so)
		}
	}
	sim, err := simbc.New(so)
	require.NoError(t, err)
	idSrv := httptest.NewServer(issuer.Handler())
	t.Cleanup(idSrv.Close)
	bcSrv := httptest.NewServer(sim.Handler())
	t.Cleanup(bcSrv.Close)
	creds := sim.Credentials()
	b := &testBundle{
		sim:      sim,
		creds:    creds,
		baseURL:  bcSrv.URL,
		apiURL:   bcSrv.URL + "/v2.0/" + creds.Tenant + "/" + creds.Environment + "/api/v2.0",
		tokenURL: idSrv.URL + "/" + creds.Tenant + "/oauth2/v2.0/token",
	}
	cfg := b.oauthConfig()
	for _, o := range opts {
		if o.cfg != nil {
			o.cfg(&cfg)
		}
	}
	b.client, err = bc.New(cfg)
	require.NoError(t, err)
	return b
}

func (b *testBundle) oauthConfig() bc.Config {
	return bc.Config{
		APIURL:    b.apiURL,
		CompanyID: b.creds.CompanyID,
		OAuth:     &bc.OAuth{ClientID: b.creds.ClientID, ClientSecret: b.creds.ClientSecret, TokenURL: b.tokenURL},
		Timeout:   20 * time.Second,
	}
}

func (b *testBundle) basicConfig() bc.Config {
	return bc.Config{
		APIURL:    b.baseURL + "/" + b.creds.Instance + "/api/v2.0",
		CompanyID: b.creds.CompanyID,
		Basic:     &bc.Basic{User: b.creds.User, WebServiceKey: b.creds.WebServiceKey},
		Timeout:   20 * time.Second,
	}
}

// peakTransport records the most requests in flight at once, to check the
// client's concurrency bound from the outside.
type peakTransport struct {
	base           http.RoundTripper
	inflight, peak atomic.Int64
}

func (p *peakTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	n := p.inflight.Add(1)
	defer p.inflight.Add(-1)
	for {
		old := p.peak.Load()
		if n <= old || p.peak.CompareAndSwap(old, n) {
			break
		}
	}
	return p.base.RoundTrip(r)
}
