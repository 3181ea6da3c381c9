package setup

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/coupler/coupler/internal/dataverse"
)

type role struct {
	ID, Name, Template, RootRole, BusinessUnit string
}

func decodeRole(rec dataverse.Record) role {
	return role{ID: strings.ToLower(rec.String("roleid")), Name: rec.String("name"),
		Template:     strings.ToLower(firstNonEmpty(rec.String("_roletemplateid_value"), rec.String("roletemplateid"))),
		RootRole:     strings.ToLower(firstNonEmpty(rec.String("_parentrootroleid_value"), rec.String("parentrootroleid"))),
		BusinessUnit: strings.ToLower(rec.String("_businessunitid_value"))}
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// is says whether the role is the given root role or a business unit's copy.
func (r role) is(id string) bool { return r.ID == id || r.RootRole == id }

func userRoles(ctx context.Context, crm *dataverse.Client, userID string) ([]role, error) {
	resp, err := crm.Do(ctx, dataverse.Request{Method: http.MethodGet,
		Path: "systemusers(" + userID + ")/systemuserroles_association"})
	if err != nil {
		return nil, err
	}
	var page struct {
		Value []dataverse.Record `json:"value"`
	}
	if err := json.Unmarshal(resp.Body, &page); err != nil {
		return nil, fmt.Errorf("dataverse: roles of user %s: %w", userID, err)
	}
	out := make([]role, 0, len(page.Value))
	for _, rec := range page.Value {
		out = append(out, decodeRole(rec))
	}
	return out, nil
}

func (r *run) testRoles(ctx context.Context, c ConnectionSetup, crm *dataverse.Client, userID, name string) {
	roles, err := userRoles(ctx, crm, userID)
	if err != nil {
		f := classify(err, "CRM", c.CRM.URL, "the CRM settings")
		for _, id := range []string{"crm.role-admin", "crm.role-user", "crm.not-sysadmin"} {
			r.fail(id, "cannot read the integration user's roles: "+f.reason, f.fix)
		}
		return
	}
	has := func(id string) bool {
		for _, ro := range roles {
			if ro.is(id) {
				return true
			}
		}
		return false
	}
	fix := func(roleName string) string {
		return "run `coupler connection assign-roles` or assign the " + roleName + " role to " + name + " in the CRM"
	}
	if has(RoleIntegrationAdministrator) {
		r.pass("crm.role-admin", "")
	} else {
		r.fail("crm.role-admin", "the integration user "+name+" lacks the Integration Administrator role", fix("Integration Administrator"))
	}
	if has(RoleIntegrationUser) {
		r.pass("crm.role-user", "")
	} else {
		r.fail("crm.role-user", "the integration user "+name+" lacks the Integration User role", fix("Integration User"))
	}
	for _, ro := range roles {
		if ro.Template == RoleTemplateSystemAdmin {
			r.fail("crm.not-sysadmin", "the integration user "+name+" holds the System Administrator role ("+ro.Name+")",
				"remove System Administrator from "+name+" in the CRM, or use a dedicated integration user: an administrator account must not run the integration")
			return
		}
	}
	r.pass("crm.not-sysadmin", "")
}
