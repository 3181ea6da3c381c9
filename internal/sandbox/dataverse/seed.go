package dataverse

import (
	"fmt"

	"github.com/google/uuid"
)

// Real ids of the roles the Business Central integration checks
// (reference/bc-integration-anchor.md §8).
var (
	roleTemplateSysAdmin     = uuid.MustParse("627090ff-40a3-4053-8790-584edc5be201")
	roleIntegrationAdminID   = uuid.MustParse("8c8d4f51-a72b-e511-80d9-3863bb349780")
	roleIntegrationUserID    = uuid.MustParse("6f960e32-a72b-e511-80d9-3863bb349780")
	integrationUserObjectID  = deterministicID("aad:integration")
	integrationSolutionName  = "MicrosoftDynamicsNavIntegration"
	baseCurrencyCode         = "GBP"
	organizationFriendlyName = "CRONUS International Ltd."
)

// lk is a lookup value for seeding.
func lk(table string, id uuid.UUID) ref { return ref{ID: id, Table: table} }

// seeder writes rows directly (no JSON), as the SYSTEM user, in one transaction.
type seeder struct {
	s   *Server
	x   *tx
	err error
}

func (s *Server) newSeeder() *seeder { return &seeder{s: s, x: s.db.begin()} }

// row inserts a record; values are Go values (int is widened to int64).
func (sd *seeder) row(table string, id uuid.UUID, vals map[string]any) uuid.UUID {
	if sd.err != nil {
		return id
	}
	t := sd.s.schema.table(table)
	if t == nil {
		sd.err = fmt.Errorf("seed: unknown table %s", table)
		return id
	}
	cv := map[int]any{}
	for name, v := range vals {
		c := t.col(name)
		if c == nil {
			sd.err = fmt.Errorf("seed: %s has no column %s", table, name)
			return id
		}
		if i, ok := v.(int); ok {
			v = int64(i)
		}
		cv[c.idx] = v
	}
	now := sd.s.db.now()
	op := &opRequest{caller: caller{token: sd.s.ids.systemUser, user: sd.s.ids.systemUser}}
	sd.s.systemValues(op, t, cv, now, true)
	if err := sd.s.applyState(t, nil, cv, true); err != nil {
		sd.err = fmt.Errorf("seed %s %v: %w", table, vals, err)
		return id
	}
	sd.s.derive(t, nil, cv)
	r := (&row{id: id, modified: now.UnixNano()}).with(cv)
	sd.x.put(sd.s.db.store(table), nil, r)
	return id
}

func (sd *seeder) done() error {
	if sd.err != nil {
		sd.x.rollback()
		return sd.err
	}
	sd.x.commit()
	return nil
}

// seedBase creates what every organisation has: the organisation, root business unit, base
// currency, SYSTEM, the application user, the integration user (no roles yet), an
// administrator, and the security roles.
func (s *Server) seedBase() error {
	s.db.mu.Lock()
	defer s.db.mu.Unlock()
	id := deterministicID
	s.ids = wellKnown{
		org: id("organization"), rootBU: id("businessunit:root"), baseCurrency: id("currency:GBP"),
		systemUser: id("systemuser:SYSTEM"), appUser: id("systemuser:app"), integrationUser: id("systemuser:integration"),
		admin: id("systemuser:admin"), roleSysAdmin: id("role:System Administrator"),
		roleIntegrationAdmin: roleIntegrationAdminID, roleIntegrationUser: roleIntegrationUserID,
	}
	sd := s.newSeeder()
	bu := lk("businessunit", s.ids.rootBU)
	sd.row("systemuser", s.ids.systemUser, map[string]any{"domainname": "SYSTEM", "firstname": "", "lastname": "SYSTEM",
		"internalemailaddress": "system@cronus-sandbox.onmicrosoft.com", "businessunitid": bu, "islicensed": false, "accessmode": 1})
	sd.row("transactioncurrency", s.ids.baseCurrency, map[string]any{"isocurrencycode": baseCurrencyCode, "currencyname": "Pound Sterling",
		"currencysymbol": "£", "currencyprecision": 2, "exchangerate": 1.0, "currencytype": 0})
	sd.row("organization", s.ids.org, map[string]any{"name": organizationFriendlyName, "basecurrencyid": lk("transactioncurrency", s.ids.baseCurrency),
		"currencydecimalprecision": 2, "pricingdecimalprecision": 2, "currencysymbol": "£", "basecurrencysymbol": "£", "basecurrencyprecision": 2})
	sd.row("businessunit", s.ids.rootBU, map[string]any{"name": orgName, "isdisabled": false,
		"transactioncurrencyid": lk("transactioncurrency", s.ids.baseCurrency)})
	sd.row("team", id("team:default"), map[string]any{"name": orgName, "businessunitid": bu, "teamtype": 0, "isdefault": true})
	sd.row("role", s.ids.roleSysAdmin, map[string]any{"name": "System Administrator", "businessunitid": bu, "roletemplateid": roleTemplateSysAdmin,
		"isinherited": 1, "issytemgenerated": true})
	sd.row("role", s.ids.roleIntegrationAdmin, map[string]any{"name": "Integration Administrator", "businessunitid": bu, "isinherited": 1,
		"description": "Administers the Dynamics 365 Business Central integration solution."})
	sd.row("role", s.ids.roleIntegrationUser, map[string]any{"name": "Integration User", "businessunitid": bu, "isinherited": 1,
		"description": "Runs the Dynamics 365 Business Central integration."})
	for _, name := range []string{"Basic User", "Salesperson", "Sales Manager"} {
		sd.row("role", id("role:"+name), map[string]any{"name": name, "businessunitid": bu, "isinherited": 1})
	}
	sd.row("systemuser", s.ids.appUser, map[string]any{"domainname": "# coupler-sandbox-app", "firstname": "# coupler", "lastname": "sandbox app",
		"internalemailaddress": "coupler-app@cronus-sandbox.onmicrosoft.com", "businessunitid": bu, "applicationid": uuid.MustParse(appClientID),
		"islicensed": false, "accessmode": 4, "azureactivedirectoryobjectid": id("aad:app")})
	sd.row("systemuser", s.ids.integrationUser, map[string]any{"domainname": integrationUser, "internalemailaddress": integrationUser,
		"firstname": "Business Central", "lastname": "Integration", "businessunitid": bu, "islicensed": true, "isintegrationuser": false,
		"accessmode": 0, "azureactivedirectoryobjectid": integrationUserObjectID, "invitestatuscode": 4})
	sd.row("systemuser", s.ids.admin, map[string]any{"domainname": adminUser, "internalemailaddress": adminUser,
		"firstname": "Sandbox", "lastname": "Administrator", "businessunitid": bu, "islicensed": true, "accessmode": 0,
		"azureactivedirectoryobjectid": id("aad:admin"), "invitestatuscode": 4})
	if err := sd.done(); err != nil {
		return err
	}
	s.associate(nil, s.ids.admin, s.ids.roleSysAdmin)
	s.associate(nil, s.ids.appUser, s.ids.roleSysAdmin)
	s.associate(nil, s.ids.systemUser, s.ids.roleSysAdmin)
	return nil
}
