package demo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/coupler/coupler/internal/bc"
	"github.com/coupler/coupler/internal/dataverse"
	"github.com/coupler/coupler/internal/mapping"
	"github.com/coupler/coupler/internal/ratelimit"
	"github.com/coupler/coupler/internal/sandbox"
	"github.com/coupler/coupler/internal/secret"
	"github.com/coupler/coupler/internal/setup"
	"github.com/coupler/coupler/internal/store"
	"github.com/coupler/coupler/internal/syncer"
	"github.com/coupler/coupler/internal/syncer/crmside"
	"github.com/coupler/coupler/internal/syncer/erpside"
	"github.com/coupler/coupler/internal/syncer/syncstore"
)

// setupEnv is what the setup leaves for the synchronisation.
type setupEnv struct {
	st  store.Store
	box *secret.Box
	svc *setup.Service
	log *slog.Logger
	// The connection's clients, once engine has dialled them.
	crm *dataverse.Client
	erp *bc.Client
}

// answers are the assisted setup's answers for the sandbox, grouped by the
// seed's steps so that each step prints what it chose.
func answers(r sandbox.Ready) (crmURL, creds, erp, advanced setup.Answers) {
	crmURL = setup.Answers{"allow-insecure": "yes", "crm.url": r.CRMURL}
	creds = setup.Answers{"crm.auth-type": string(setup.AuthOAuth), "crm.user": r.IntegrationUser,
		"crm.password": r.IntegrationPassword, "crm.token-url": r.TokenURL}
	erp = setup.Answers{"erp.url": r.ERPURL, "erp.company-id": r.ERPCompanyID, "erp.auth-type": "oauth",
		"erp.client-id": r.ERPClientID, "erp.client-secret": r.ERPClientSecret, "erp.token-url": r.TokenURL,
		"erp.scope": r.ERPScope, "erp.web-client-url": r.ERPWebClientURL}
	advanced = setup.Answers{"crm.api-version": "9.2", "crm.sdk-version": "100", "import-solution": "yes",
		"availability.enabled": "no", "sales-orders.enabled": "yes", "enable": "yes"}
	return
}

// runSetup is the assisted setup without questions, through internal/setup's
// own validation and service, printing each of the seed's steps.
func runSetup(ctx context.Context, p *printer, st store.Store, dataDir, publicURL string, r sandbox.Ready, log *slog.Logger) (*setupEnv, error) {
	box, err := secret.New(secret.Options{Store: st, DataDir: dataDir, Logger: log})
	if err != nil {
		return nil, err
	}
	// As in the daemon: on PostgreSQL the request budgets are shared.
	pacers, err := ratelimit.ClientPacers(st, log, ratelimit.ClientBudget())
	if err != nil {
		return nil, err
	}
	svc := &setup.Service{Conns: st, Secrets: box, NotFound: store.ErrNotFound, Log: log,
		Options: setup.DialOptions{Logger: log, Interactive: true, Pacers: pacers}}
	env := &setupEnv{st: st, box: box, svc: svc, log: log}

	existing, err := svc.ExistingSecrets(ctx, setup.DefaultName)
	if err != nil {
		return nil, err
	}
	d := setup.NewDraft(setup.DefaultName, publicURL, existing)
	all := setup.Answers{}
	crmURL, creds, erp, advanced := answers(r)
	for _, part := range []setup.Answers{crmURL, creds, erp, advanced} {
		for k, v := range part {
			all[k] = v
		}
	}
	if _, err := setup.Build(all, d); err != nil {
		return nil, fmt.Errorf("the sandbox's answers do not pass the setup's validation (a bug in the demo):\n%w", err)
	}
	c := d.Setup

	p.step("Assisted setup 1/7 — Dynamics 365 Sales URL")
	p.say("%s (plain http allowed: the sandbox is on this machine only)", c.CRM.URL)
	p.step("Assisted setup 2/7 — credentials")
	p.say("CRM: integration user %s, %s sign-in (user + password) at %s", c.CRM.UserName, c.CRM.AuthType, c.CRM.TokenURL)
	p.say("ERP: %s, company %s, OAuth client credentials (app %s)", c.ERP.APIURL, c.ERP.CompanyID, c.ERP.ClientID)
	p.step("Assisted setup 3/7 — advanced settings")
	p.say("Web API %s, SDK version %s, import the integration solution: yes, item availability: no, sales order integration: yes",
		c.CRM.APIVersion, c.CRM.SDKVersion)
	p.say("ERP web client URL: %s", c.ERP.WebClientURL)

	state, err := box.State(ctx)
	if err != nil {
		return nil, err
	}
	if state == secret.StateUndecided {
		rep, err := box.Enable(ctx)
		if err != nil {
			return nil, err
		}
		if rep.KeyCreated {
			p.say("Encryption at rest enabled; key file %s created (mode 0600).", box.KeyPath())
		}
	}
	if err := svc.Save(ctx, d); err != nil {
		return nil, err
	}
	p.say("Saved connection %q; secrets encrypted in the database.", c.Name)

	p.step("Assisted setup 4/7 — test the sign-ins")
	list, err := svc.Test(ctx, c.Name)
	if err != nil {
		return nil, err
	}
	for _, id := range []string{"crm.reach", "crm.auth", "crm.version", "erp.reach", "erp.auth", "erp.company"} {
		if ch, ok := list.Find(id); ok {
			p.check(ch)
		}
	}
	p.say("(the role and solution checks pass after the next two steps)")

	p.step("Assisted setup 5/7 — import the integration solution")
	admin := &setup.AdminCredentials{User: r.CRMAdminUser, Password: r.CRMAdminPassword}
	if err := svc.ImportSolution(ctx, c.Name, admin); err != nil {
		return nil, fmt.Errorf("import the integration solution into the sandbox: %w", err)
	}
	p.say("Imported %s %s as the CRM administrator %s (used once, not stored).", setup.SolutionUniqueName, setup.SolutionVersion, r.CRMAdminUser)

	p.step("Assisted setup 6/7 — assign the integration roles")
	as, err := svc.AssignRoles(ctx, c.Name)
	if err != nil {
		return nil, fmt.Errorf("assign the integration roles in the sandbox: %w", err)
	}
	for _, a := range as {
		verb := "already held"
		if a.Added {
			verb = "assigned"
		}
		p.say("%s: %s", a.Role, verb)
	}

	p.step("Assisted setup 7/7 — test everything and enable the connection")
	list, err = svc.Enable(ctx, c.Name)
	for _, ch := range list.Checks {
		p.check(ch)
	}
	if err != nil {
		return nil, fmt.Errorf("enable the connection to the sandbox: %w", err)
	}
	p.say("The connection is enabled.")

	p.step("Accept the default synchronisation setup")
	ms, err := st.ListMappings(ctx)
	if err != nil {
		return nil, fmt.Errorf("read the mappings: %w", err)
	}
	if len(ms) > 0 {
		p.say("%d mappings are already stored; they are kept (`coupler mappings reset` goes back to the defaults).", len(ms))
		return env, nil
	}
	defs := mapping.Defaults()
	now := time.Now().UTC()
	for i := range defs {
		defs[i].UpdatedAt = now
		if err := st.PutMapping(ctx, defs[i]); err != nil {
			return nil, fmt.Errorf("save the default mapping %s: %w", defs[i].Name, err)
		}
	}
	names := make([]string, 0, len(defs))
	for _, m := range defs {
		if !m.Disabled {
			names = append(names, m.Name)
		}
	}
	p.say("%d table mappings with their field mappings, every %s: %s", len(defs), time.Duration(mapping.DefaultInterval), strings.Join(names, ", "))
	return env, nil
}

// engine is the synchronisation engine over the enabled connection, as
// `coupler sync run` builds it.
func (e *setupEnv) engine(ctx context.Context) (*syncer.Engine, error) {
	conn, err := e.svc.Load(ctx, setup.DefaultName)
	if err != nil {
		return nil, err
	}
	if !conn.Enabled {
		return nil, errors.New("the demo's connection is not enabled")
	}
	opts := setup.DialOptions{Logger: e.log, Pacers: e.svc.Options.Pacers}
	if e.crm, err = setup.DialCRM(ctx, conn, e.box, opts); err != nil {
		return nil, err
	}
	if e.erp, err = setup.DialERP(ctx, conn, e.box, opts); err != nil {
		return nil, err
	}
	crm, erp := e.crm, e.erp
	return syncer.New(syncer.Options{
		Store: syncstore.New(e.st), CRM: crmside.New(crm, 0), ERP: erpside.New(erp, 0), Logger: e.log,
		Mappings: func(ctx context.Context) ([]mapping.TableMapping, error) { return e.st.ListMappings(ctx) },
	})
}
