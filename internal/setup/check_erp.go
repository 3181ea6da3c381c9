package setup

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/coupler/coupler/internal/bc"
	"github.com/coupler/coupler/internal/dataverse"
)

func (r *run) testERP(ctx context.Context, c ConnectionSetup, cl Clients, currency *string) bool {
	credFields := "erp.client-id and erp.client-secret"
	if c.ERP.AuthType == "basic" {
		credFields = "erp.user and erp.web-service-key"
	}
	if cl.ERP == nil {
		f := classify(cl.ERPErr, "ERP", c.ERP.APIURL, credFields)
		if f.stage == "call" {
			f.stage = "auth"
		}
		r.failCall(f, "erp", "erp.company")
		r.notTried("erp.reach", f.stage)
		r.skip("erp.company", "no connection to the ERP")
		return false
	}
	companies, err := cl.ERP.ListCompanies(ctx)
	if err != nil {
		r.failCall(classify(err, "ERP", c.ERP.APIURL, credFields), "erp", "erp.company")
		r.skip("erp.auth", "the ERP could not be reached")
		r.skip("erp.company", "the ERP could not be reached or refused to sign in")
		return false
	}
	r.pass("erp.reach", c.ERP.APIURL)
	r.pass("erp.auth", "signed in")
	var names []string
	found := false
	for _, co := range companies {
		names = append(names, fmt.Sprintf("%s (%s)", co.Name, co.ID))
		if strings.EqualFold(co.ID, c.ERP.CompanyID) {
			found = true
			r.list.Facts.ERPCompanyName = co.Name
		}
	}
	if !found {
		fix := "the ERP lists no company: create one or check erp.url"
		if len(names) > 0 {
			fix = "set erp.company-id to one of: " + strings.Join(names, ", ")
		}
		r.fail("erp.company", "the ERP has no company with id "+c.ERP.CompanyID, fix)
		return false
	}
	r.pass("erp.company", r.list.Facts.ERPCompanyName)
	code, err := baseCurrency(ctx, cl.ERP)
	if err != nil {
		f := classify(err, "ERP", c.ERP.APIURL, credFields)
		r.fail("erp.currency", "cannot read the ERP's base currency: "+f.reason, f.fix)
		return false
	}
	*currency = code
	return true
}

// baseCurrency reads the company's local currency (LCY) code from
// companyInformation; when the API does not expose it, an LCY customer
// (currencyCode set, currencyId empty) tells it too.
func baseCurrency(ctx context.Context, erp *bc.Client) (string, error) {
	var code string
	err := erp.List(ctx, "companyInformation", bc.Query{}, func(page []json.RawMessage) error {
		for _, raw := range page {
			var ci struct {
				CurrencyCode string `json:"currencyCode"`
			}
			if json.Unmarshal(raw, &ci) == nil && ci.CurrencyCode != "" && code == "" {
				code = ci.CurrencyCode
			}
		}
		return nil
	})
	if err == nil && code != "" {
		return code, nil
	}
	if err != nil && !isNotFound(err) {
		return "", err
	}
	const empty = "00000000-0000-0000-0000-000000000000"
	err = erp.List(ctx, "customers", bc.Query{Filter: "currencyId eq " + empty, Select: []string{"currencyCode"}, Top: 1}, func(page []json.RawMessage) error {
		for _, raw := range page {
			var cu struct {
				CurrencyCode string `json:"currencyCode"`
			}
			if json.Unmarshal(raw, &cu) == nil && cu.CurrencyCode != "" && code == "" {
				code = cu.CurrencyCode
			}
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	if code == "" {
		return "", fmt.Errorf("neither companyInformation nor a local-currency customer tells the company's base currency")
	}
	return code, nil
}

func isNotFound(err error) bool {
	return errors.Is(err, bc.ErrNotFound)
}

func (r *run) testCurrency(ctx context.Context, crm *dataverse.Client, code string) {
	resp, err := crm.Do(ctx, dataverse.Request{Method: http.MethodGet, Path: "transactioncurrencies",
		Query: url.Values{"$filter": {"isocurrencycode eq '" + strings.ReplaceAll(code, "'", "''") + "'"}, "$select": {"transactioncurrencyid,isocurrencycode"}}})
	if err != nil {
		f := classify(err, "CRM", "", "the CRM settings")
		r.fail("erp.currency", "cannot read the CRM's currencies: "+f.reason, f.fix)
		return
	}
	var page struct {
		Value []dataverse.Record `json:"value"`
	}
	if err := json.Unmarshal(resp.Body, &page); err != nil || len(page.Value) == 0 {
		r.fail("erp.currency", "the ERP's base currency "+code+" is not a transaction currency in the CRM",
			"add the currency "+code+" in the CRM (Settings > Business Management > Currencies), then test again")
		return
	}
	r.pass("erp.currency", code)
}
