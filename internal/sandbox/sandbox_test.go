package sandbox

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

type testBundle struct {
	sb    *Sandbox
	ready Ready
}

func setup(t *testing.T, opts Options) *testBundle {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	sb, err := Start(context.Background(), opts)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, sb.Close()) })
	return &testBundle{sb: sb, ready: sb.Ready()}
}

func getJSON(t *testing.T, c *http.Client, url string, into any) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	req.Header.Set("Accept", "application/json")
	resp, err := c.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	if into != nil && resp.StatusCode == http.StatusOK {
		require.NoError(t, json.Unmarshal(body, into), string(body))
	}
	return resp.StatusCode
}

func TestStartServesBothSimulators(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{Seed: "demo"})
	r := b.ready

	// Every field of the ready object is filled.
	v := reflect.ValueOf(r)
	for i := range v.NumField() {
		name := v.Type().Field(i).Tag.Get("json")
		if strings.Contains(name, "omitempty") {
			continue
		}
		require.False(t, v.Field(i).IsZero(), "ready field %s is empty", name)
	}
	require.True(t, strings.HasPrefix(r.CRMURL, "http://127.0.0.1:"), r.CRMURL)
	require.Equal(t, r.CRMURL+"/"+r.Tenant+"/oauth2/v2.0/token", r.TokenURL)
	require.True(t, strings.HasSuffix(r.ERPURL, "/v2.0/"+r.Tenant+"/"+r.ERPEnvironment+"/api/v2.0"), r.ERPURL)

	ctx := context.Background()
	crm := (&clientcredentials.Config{ClientID: r.CRMClientID, ClientSecret: r.CRMClientSecret, TokenURL: r.TokenURL,
		Scopes: []string{r.CRMScope}}).Client(ctx)
	var accounts struct {
		Value []map[string]any `json:"value"`
	}
	require.Equal(t, http.StatusOK, getJSON(t, crm, r.CRMURL+"/api/data/v9.2/accounts?$select=name&$top=1", &accounts))
	require.Len(t, accounts.Value, 1)
	require.NotEmpty(t, accounts.Value[0]["name"])

	erp := (&clientcredentials.Config{ClientID: r.ERPClientID, ClientSecret: r.ERPClientSecret, TokenURL: r.TokenURL,
		Scopes: []string{r.ERPScope}}).Client(ctx)
	var customers struct {
		Value []map[string]any `json:"value"`
	}
	require.Equal(t, http.StatusOK, getJSON(t, erp, r.ERPURL+"/companies("+r.ERPCompanyID+")/customers?$top=1", &customers))
	require.Len(t, customers.Value, 1)
	require.NotEmpty(t, customers.Value[0]["displayName"])

	// The integration user signs in with the password grant.
	pw := oauth2.Config{ClientID: "51f81489-12ee-4a9e-aaae-a2591f45987d", Endpoint: oauth2.Endpoint{TokenURL: r.TokenURL, AuthStyle: oauth2.AuthStyleInParams},
		Scopes: []string{r.CRMScope}}
	tok, err := pw.PasswordCredentialsToken(ctx, r.IntegrationUser, r.IntegrationPassword)
	require.NoError(t, err)
	var who map[string]any
	require.Equal(t, http.StatusOK, getJSON(t, pw.Client(ctx, tok), r.CRMAPIURL+"WhoAmI", &who))
	require.NotEmpty(t, who["UserId"])

	// A CRM token is not valid for the ERP.
	require.Equal(t, http.StatusUnauthorized, getJSON(t, crm, r.ERPURL+"/companies", nil))
}

func TestLimitsThrottle(t *testing.T) {
	t.Parallel()
	// Every request is slow, so BC's 5 running + 95 queued fill up and
	// the next requests of the same user are refused with 429.
	b := setup(t, Options{Seed: "none", Limits: []string{LimitsBC, LimitsDataverse}, Faults: "slow=1,slow-delay=5s"})
	r := b.ready
	require.Equal(t, []string{LimitsBC, LimitsDataverse}, r.Limits)
	// The first 429 cancels the rest; the timeout only bounds a failing run.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	erp := (&clientcredentials.Config{ClientID: r.ERPClientID, ClientSecret: r.ERPClientSecret, TokenURL: r.TokenURL,
		Scopes: []string{r.ERPScope}}).Client(ctx)

	const n = 110
	var (
		mu         sync.Mutex
		throttled  int
		retryAfter string
		wg         sync.WaitGroup
	)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.ERPURL+"/companies", nil)
			if err != nil {
				return
			}
			resp, err := erp.Do(req)
			if err != nil {
				return // cancelled once the answer we wait for came
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusTooManyRequests {
				mu.Lock()
				throttled++
				retryAfter = resp.Header.Get("Retry-After")
				mu.Unlock()
				cancel()
			}
		}()
	}
	wg.Wait()
	require.Positive(t, throttled)
	require.NotEmpty(t, retryAfter)

	st := b.sb.Stats()
	require.NotNil(t, st.ERP.Limits)
	require.Positive(t, st.ERP.Limits.Throttled)
	require.Positive(t, st.ERP.Faults["slow"])
	var served Stats
	require.Equal(t, http.StatusOK, getJSON(t, http.DefaultClient, r.CRMURL+StatsPath, &served))
	require.NotNil(t, served.CRM.Limits, "dataverse limits are on")
	require.Positive(t, served.ERP.Limits.Throttled)
}

func TestFaultsAreInjected(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{Seed: "none", Faults: "5xx=1,seed=3"})
	r := b.ready
	erp := (&clientcredentials.Config{ClientID: r.ERPClientID, ClientSecret: r.ERPClientSecret, TokenURL: r.TokenURL,
		Scopes: []string{r.ERPScope}}).Client(context.Background())
	status := getJSON(t, erp, r.ERPURL+"/companies", nil)
	require.Contains(t, []int{500, 503}, status)
	st := b.sb.Stats()
	require.Nil(t, st.ERP.Limits, "limits are off")
	require.Equal(t, int64(1), st.ERP.Faults["5xx"])
}

func TestStartRefusesBadOptions(t *testing.T) {
	t.Parallel()
	log := slog.New(slog.DiscardHandler)
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"remote CRM", Options{CRMAddr: "0.0.0.0:0", Logger: log}, "--allow-remote"},
		{"all interfaces ERP", Options{ERPAddr: ":0", Logger: log}, "all interfaces"},
		{"not host:port", Options{CRMAddr: "127.0.0.1", Logger: log}, "not host:port"},
		{"seed", Options{Seed: "big", Logger: log}, "seed"},
		{"scale", Options{Scale: -1, Logger: log}, "negative"},
		{"limits", Options{Limits: []string{"crm"}, Logger: log}, `limits "crm" is unknown`},
		{"faults", Options{Faults: "5xx=2", Logger: log}, "between 0 and 1"},
		{"time scale", Options{TimeScale: -1, Logger: log}, "time scale"},
		{"logger", Options{}, "Logger"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Start(context.Background(), tt.opts)
			require.ErrorContains(t, err, tt.want)
		})
	}
}

func TestCheckLoopback(t *testing.T) {
	t.Parallel()
	for addr, ok := range map[string]bool{"127.0.0.1:0": true, "localhost:8080": true, "[::1]:5": true, "127.0.0.2:1": true,
		"0.0.0.0:1": false, ":1": false, "192.168.1.10:80": false, "example.com:80": false} {
		require.Equal(t, ok, CheckLoopback(addr) == nil, addr)
	}
}

func TestContextEndStopsSandbox(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	sb, err := Start(ctx, Options{Seed: "none", Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	cancel()
	<-sb.Done()
	_, err = http.Get(sb.Ready().CRMURL + "/_sandbox/healthz")
	require.Error(t, err, "the listener is closed")
	require.NoError(t, sb.Close())
}
