package syncer_test

import (
	"context"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/coupler/coupler/internal/bc"
	"github.com/coupler/coupler/internal/dataverse"
	"github.com/coupler/coupler/internal/mapping"
	"github.com/coupler/coupler/internal/sandbox"
	"github.com/coupler/coupler/internal/syncer"
	"github.com/coupler/coupler/internal/syncer/crmside"
	"github.com/coupler/coupler/internal/syncer/erpside"
	"github.com/coupler/coupler/internal/syncer/memstore"
)

// live is the engine over both simulators of the sandbox, seeded with the
// demo data, talking real HTTP on 127.0.0.1.
type live struct {
	sb  *sandbox.Sandbox
	dv  *dataverse.Client
	bc  *bc.Client
	st  *memstore.Store
	eng *syncer.Engine
	ms  []mapping.TableMapping
}

func setupLive(t *testing.T) *live {
	t.Helper()
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	sb, err := sandbox.Start(ctx, sandbox.Options{Seed: "demo", Logger: log})
	require.NoError(t, err)
	t.Cleanup(func() { _ = sb.Close() })
	r := sb.Ready()
	cc := clientcredentials.Config{ClientID: r.CRMClientID, ClientSecret: r.CRMClientSecret, TokenURL: r.TokenURL, Scopes: []string{r.CRMScope}}
	dv, err := dataverse.New(ctx, dataverse.Config{URL: r.CRMURL, TokenSource: cc.TokenSource(ctx), Logger: log})
	require.NoError(t, err)
	erp, err := bc.New(bc.Config{APIURL: r.ERPURL, CompanyID: r.ERPCompanyID, Logger: log,
		OAuth: &bc.OAuth{ClientID: r.ERPClientID, ClientSecret: r.ERPClientSecret, TokenURL: r.TokenURL, Scopes: []string{r.ERPScope}}})
	require.NoError(t, err)
	l := &live{sb: sb, dv: dv, bc: erp, st: memstore.New(), ms: mapping.Defaults()}
	l.eng, err = syncer.New(syncer.Options{Store: l.st, CRM: crmside.New(dv, 0), ERP: erpside.New(erp, 0), Logger: log,
		Mappings: func(context.Context) ([]mapping.TableMapping, error) { return l.ms, nil }})
	require.NoError(t, err)
	return l
}

func TestLiveFullSync(t *testing.T) {
	t.Parallel()
	l := setupLive(t)
	jobs, err := l.eng.Run(context.Background(), nil, syncer.RunOptions{Full: true})
	require.NoError(t, err)
	for _, j := range jobs {
		t.Logf("%-22s %-9s %+v %s", j.Mapping, j.Status, j.Counts, j.Message)
	}
	es, _ := l.st.ListErrors(context.Background(), syncer.ErrorQuery{OpenOnly: true, Limit: 30})
	for _, e := range es {
		t.Logf("ERR %s %s erp=%s crm=%s field=%s %s: %s", e.Mapping, e.Direction, e.ERPID, e.CRMID, e.Field, e.Code, e.Message)
	}
}
