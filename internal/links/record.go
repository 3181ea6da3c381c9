package links

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"

	"github.com/coupler/coupler/internal/bc"
	"github.com/coupler/coupler/internal/mapping"
	"github.com/coupler/coupler/internal/setup"
	"github.com/coupler/coupler/internal/syncer"
)

// TargetFor returns the link target of a mapping, if its records carry links.
func TargetFor(mappingName string) (Target, bool) {
	for _, t := range Targets {
		if t.Mapping == mappingName {
			return t, true
		}
	}
	return Target{}, false
}

// CRMRecordURL opens a CRM record's form in Dynamics 365
// ({org}/main.aspx?etn=account&id=…&pagetype=entityrecord).
func CRMRecordURL(orgURL, entityLogicalName, id string) string {
	return strings.TrimSuffix(orgURL, "/") + "/main.aspx?etn=" + url.QueryEscape(entityLogicalName) +
		"&id=" + url.QueryEscape(strings.Trim(id, "{}")) + "&pagetype=entityrecord"
}

// Pair is both links of one coupled pair, for coupler's own UI.
type Pair struct {
	ERP string // "" when the mapping's ERP records have no web client card here
	CRM string
}

// ForCoupling builds both links of a coupling: the CRM form, and the ERP
// web client card (one ERP read for the record's number). company "" uses
// the company name of the last connection test.
func ForCoupling(ctx context.Context, erp *bc.Client, c setup.ConnectionSetup, m mapping.TableMapping, cp syncer.Coupling, company string) (Pair, error) {
	p := Pair{CRM: CRMRecordURL(c.CRM.URL, m.CRMEntity, cp.CRMID)}
	t, ok := TargetFor(m.Name)
	if !ok {
		return p, nil
	}
	if company == "" {
		company = c.LastTest.ERPCompanyName
	}
	raw, err := erp.Get(ctx, t.ERPEntity, cp.ERPID, bc.Query{Select: []string{"number"}})
	if err != nil {
		return p, fmt.Errorf("links: read ERP %s %s: %w", t.ERPEntity, cp.ERPID, err)
	}
	var r struct{ Number string }
	if err := json.Unmarshal(raw, &r); err != nil {
		return p, fmt.Errorf("links: ERP %s %s is not JSON: %w", t.ERPEntity, cp.ERPID, err)
	}
	p.ERP, err = URL(c.ERP.WebClientURL, company, t.Page, r.Number)
	return p, err
}
