package setup

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/coupler/coupler/internal/dataverse"
)

// Service runs the connection's life cycle: save, test, enable, disable,
// assign roles, import the solution. The CLI and the web UI both use it.
type Service struct {
	Conns   Connections
	Secrets Secrets
	// NotFound is the store's "no such row" error (store.ErrNotFound).
	NotFound error
	Log      *slog.Logger
	Clock    func() time.Time
	Options  DialOptions
}

// ErrTestFailed is returned by Enable when a check fails; the checklist
// says which and how to fix it.
var ErrTestFailed = errors.New("the connection test failed")

// ErrNoConnection is returned when no connection has been set up yet.
var ErrNoConnection = errors.New("no connection is set up: run `coupler setup`")

func (s *Service) now() time.Time {
	if s.Clock != nil {
		return s.Clock()
	}
	return time.Now()
}

func (s *Service) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.New(slog.DiscardHandler)
}

// Load reads a connection.
func (s *Service) Load(ctx context.Context, name string) (ConnectionSetup, error) {
	if name == "" {
		name = DefaultName
	}
	c, err := s.Conns.GetConnection(ctx, name)
	if err != nil {
		if s.NotFound != nil && errors.Is(err, s.NotFound) {
			return c, fmt.Errorf("connection %q: %w", name, ErrNoConnection)
		}
		return c, fmt.Errorf("read connection %q: %w", name, err)
	}
	return c, nil
}

// ExistingSecrets says which secrets of a connection are stored.
func (s *Service) ExistingSecrets(ctx context.Context, name string) (map[string]bool, error) {
	out := map[string]bool{}
	for _, n := range SecretNames {
		ok, err := s.Secrets.IsSet(ctx, name, n)
		if err != nil {
			return nil, err
		}
		out[n] = ok
	}
	return out, nil
}

// Save stores a validated draft: secrets first (they may need the user's
// choice about encryption: secret.ErrUndecided), then the setup, kept
// disabled until Enable has tested it. The last test's facts and the
// previous state of a re-run are kept.
func (s *Service) Save(ctx context.Context, d *Draft) error {
	for _, n := range SecretNames {
		if v, ok := d.Secrets[n]; ok {
			if err := s.Secrets.Put(ctx, d.Setup.Name, n, v); err != nil {
				return fmt.Errorf("save %s: %w", n, err)
			}
		}
	}
	c := d.Setup
	if old, err := s.Conns.GetConnection(ctx, c.Name); err == nil {
		c.LastTest = old.LastTest
	}
	c.Enabled = false
	c.DisableReason = "set up; not enabled yet: run `coupler connection enable`"
	c.UpdatedAt = s.now()
	if err := s.Conns.PutConnection(ctx, c); err != nil {
		return fmt.Errorf("save connection %q: %w", c.Name, err)
	}
	s.log().Info("connection saved", "name", c.Name, "crm_url", c.CRM.URL, "erp_url", c.ERP.APIURL)
	return nil
}

// Dial builds both clients; a client that cannot be built comes with its error.
func (s *Service) Dial(ctx context.Context, c ConnectionSetup) Clients {
	var cl Clients
	cl.CRM, cl.CRMErr = DialCRM(ctx, c, s.Secrets, s.Options)
	cl.ERP, cl.ERPErr = DialERP(ctx, c, s.Secrets, s.Options)
	return cl
}

// Test runs the connection test and records its facts on the setup.
func (s *Service) Test(ctx context.Context, name string) (Checklist, error) {
	c, err := s.Load(ctx, name)
	if err != nil {
		return Checklist{}, err
	}
	list := RunTest(ctx, c, s.Dial(ctx, c), s.now())
	c.LastTest = list.Facts
	if err := s.Conns.PutConnection(ctx, c); err != nil {
		return list, fmt.Errorf("save test result: %w", err)
	}
	s.log().Info("connection tested", "name", c.Name, "ok", list.OK(), "summary", list.Facts.Summary)
	return list, nil
}

// Enable runs the full test and enables the connection only when every
// check passed; otherwise it returns ErrTestFailed with the checklist.
func (s *Service) Enable(ctx context.Context, name string) (Checklist, error) {
	list, err := s.Test(ctx, name)
	if err != nil {
		return list, err
	}
	if !list.OK() {
		return list, fmt.Errorf("%w: not enabled; fix the failed checks and run `coupler connection enable` again", ErrTestFailed)
	}
	c, err := s.Load(ctx, name)
	if err != nil {
		return list, err
	}
	c.Enabled, c.DisableReason, c.UpdatedAt = true, "", s.now()
	if err := s.Conns.PutConnection(ctx, c); err != nil {
		return list, fmt.Errorf("enable connection %q: %w", c.Name, err)
	}
	s.log().Info("connection enabled", "name", c.Name)
	return list, nil
}

// Disable is the seed's "disconnect": synchronisation stops (jobs check
// Active before each batch and go on hold), every setting is kept.
func (s *Service) Disable(ctx context.Context, name, reason string) (ConnectionSetup, error) {
	c, err := s.Load(ctx, name)
	if err != nil {
		return c, err
	}
	if reason == "" {
		reason = "disabled by the user"
	}
	c.Enabled, c.DisableReason, c.UpdatedAt = false, reason, s.now()
	if err := s.Conns.PutConnection(ctx, c); err != nil {
		return c, fmt.Errorf("disable connection %q: %w", c.Name, err)
	}
	s.log().Info("connection disabled", "name", c.Name, "reason", reason)
	return c, nil
}

// Active is what the synchronisation engine asks before each batch: false
// puts jobs on hold (with the reason to show) until the connection is
// enabled again.
func Active(ctx context.Context, conns Connections, name string) (bool, string, error) {
	if name == "" {
		name = DefaultName
	}
	c, err := conns.GetConnection(ctx, name)
	if err != nil {
		return false, "", fmt.Errorf("read connection %q: %w", name, err)
	}
	if !c.Enabled {
		reason := c.DisableReason
		if reason == "" {
			reason = "the connection is disabled"
		}
		return false, reason + "; run `coupler connection enable` to resume", nil
	}
	return true, "", nil
}

// ResetWebClientURL sets the ERP web client URL back to its default,
// derived from the ERP API URL.
func (s *Service) ResetWebClientURL(ctx context.Context, name string) (string, error) {
	c, err := s.Load(ctx, name)
	if err != nil {
		return "", err
	}
	c.ERP.WebClientURL = DefaultWebClientURL(c.ERP.APIURL)
	c.UpdatedAt = s.now()
	if err := s.Conns.PutConnection(ctx, c); err != nil {
		return "", fmt.Errorf("save connection %q: %w", c.Name, err)
	}
	return c.ERP.WebClientURL, nil
}

// RoleAssignment says what assign-roles did for one role.
type RoleAssignment struct {
	Role   string
	RoleID string // the role in the user's business unit
	Added  bool   // false: the user already held it
}

// AssignRoles gives the integration user the Integration Administrator and
// Integration User roles of its business unit (systemuserroles_association).
func (s *Service) AssignRoles(ctx context.Context, name string) ([]RoleAssignment, error) {
	c, err := s.Load(ctx, name)
	if err != nil {
		return nil, err
	}
	crm, err := DialCRM(ctx, c, s.Secrets, s.Options)
	if err != nil {
		return nil, err
	}
	return AssignRoles(ctx, crm)
}

// AssignRoles does the work of Service.AssignRoles on a client.
func AssignRoles(ctx context.Context, crm *dataverse.Client) ([]RoleAssignment, error) {
	who, err := crm.WhoAmI(ctx)
	if err != nil {
		return nil, fmt.Errorf("assign roles: who is the integration user: %w", err)
	}
	held, err := userRoles(ctx, crm, who.UserID)
	if err != nil {
		return nil, fmt.Errorf("assign roles: read the user's roles: %w", err)
	}
	var out []RoleAssignment
	for _, want := range []struct{ id, name string }{
		{RoleIntegrationAdministrator, "Integration Administrator"},
		{RoleIntegrationUser, "Integration User"},
	} {
		already := ""
		for _, r := range held {
			if r.is(want.id) {
				already = r.ID
			}
		}
		if already != "" {
			out = append(out, RoleAssignment{Role: want.name, RoleID: already})
			continue
		}
		roleID, err := roleInBusinessUnit(ctx, crm, want.id, strings.ToLower(who.BusinessUnitID))
		if err != nil {
			return out, fmt.Errorf("assign roles: find the %s role: %w", want.name, err)
		}
		if err := crm.Associate(ctx, "systemusers", dataverse.ID(who.UserID), "systemuserroles_association", "roles", dataverse.ID(roleID)); err != nil {
			return out, fmt.Errorf("assign roles: give %s to user %s: %w", want.name, who.UserID, err)
		}
		out = append(out, RoleAssignment{Role: want.name, RoleID: roleID, Added: true})
	}
	return out, nil
}

// roleInBusinessUnit finds the copy of a root role in the business unit
// (roles are per business unit; the root one carries the well-known id).
func roleInBusinessUnit(ctx context.Context, crm *dataverse.Client, rootID, bu string) (string, error) {
	rec, err := crm.Retrieve(ctx, "roles", dataverse.ID(rootID))
	if err != nil {
		if errors.Is(err, dataverse.ErrNotFound) {
			return "", fmt.Errorf("the CRM has no role %s: import the integration solution first (`coupler connection import-solution`)", rootID)
		}
		return "", err
	}
	r := decodeRole(rec)
	if bu == "" || r.BusinessUnit == "" || r.BusinessUnit == bu {
		return r.ID, nil
	}
	resp, err := crm.Do(ctx, dataverse.Request{Method: http.MethodGet, Path: "roles",
		Query: map[string][]string{"$filter": {"_parentrootroleid_value eq " + rootID + " and _businessunitid_value eq " + bu}, "$select": {"roleid"}}})
	if err != nil {
		return "", err
	}
	var page struct {
		Value []dataverse.Record `json:"value"`
	}
	if err := json.Unmarshal(resp.Body, &page); err != nil || len(page.Value) == 0 {
		return "", fmt.Errorf("role %s has no copy in the integration user's business unit %s", rootID, bu)
	}
	return page.Value[0].String("roleid"), nil
}

// ErrOnHold is why a synchronisation stopped: the connection was disabled
// while it ran.
var ErrOnHold = errors.New("synchronisation on hold")

// Hold adapts Active to the engine's Hold option: a run asks before every
// batch, so disabling the connection stops it after the batch in flight.
func Hold(conns Connections, name string) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		ok, reason, err := Active(ctx, conns, name)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("%w: %s", ErrOnHold, reason)
		}
		return nil
	}
}
