// Package links gives every coupled CRM record the URL that opens its ERP
// record in the Business Central web client (the "ERP link" column of the
// integration solution), and keeps those URLs current.
package links

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"

	"github.com/coupler/coupler/internal/bc"
	"github.com/coupler/coupler/internal/dataverse"
	"github.com/coupler/coupler/internal/mapping"
	"github.com/coupler/coupler/internal/setup"
	"github.com/coupler/coupler/internal/store"
	"github.com/coupler/coupler/internal/syncer"
)

// Target is one CRM table that carries links, with the mapping that couples
// it and the web client card page of its ERP records.
type Target struct {
	Mapping   string // coupling mapping name
	CRMSet    string // Web API collection
	CRMKey    string // primary key column
	ERPEntity string // API v2.0 entity set
	Page      int    // BC web client card page
}

// Targets are the tables of the solution's LinkTables, by BC page: 21
// Customer Card, 5050 Contact Card, 30 Item Card, 42 Sales Order.
var Targets = []Target{
	{mapping.Customer, "accounts", "accountid", "customers", 21},
	{mapping.Contact, "contacts", "contactid", "contacts", 5050},
	{mapping.ItemProduct, "products", "productid", "items", 30},
	{mapping.SalesOrder, "salesorders", "salesorderid", "salesOrders", 42},
}

// URL is the web client address of one ERP record, as Business Central
// builds it: {web client}/?company=…&page=…&filter='No.' IS '…'.
func URL(webClientURL, company string, page int, number string) (string, error) {
	base, err := url.Parse(webClientURL)
	if err != nil || base.Scheme == "" || base.Host == "" {
		return "", fmt.Errorf("erp.web-client-url %q is not an absolute URL: set it with `coupler setup` or `coupler connection reset-web-client-url`", webClientURL)
	}
	if company == "" {
		return "", errors.New("the ERP company name is unknown: run `coupler connection test`")
	}
	if number == "" {
		return "", errors.New("the ERP record has no number")
	}
	if !strings.HasSuffix(base.Path, "/") {
		base.Path += "/"
	}
	base.RawQuery = "company=" + url.QueryEscape(company) + "&page=" + fmt.Sprint(page) +
		"&filter=" + url.QueryEscape("'No.' IS '"+strings.ReplaceAll(number, "'", "''")+"'")
	return strings.ReplaceAll(base.String(), "+", "%20"), nil
}

// Couplings is what links reads from the store.
type Couplings interface {
	ListCouplings(ctx context.Context, f store.CouplingFilter) ([]syncer.Coupling, error)
}

// Options are what one refresh needs.
type Options struct {
	Setup     setup.ConnectionSetup
	CRM       *dataverse.Client
	ERP       *bc.Client
	Couplings Couplings
	Logger    *slog.Logger
	BatchSize int // PATCHes per $batch (default 500)
}

// Result counts one table's refresh.
type Result struct {
	Table                                string
	Coupled, Updated, Unchanged, Cleared int
	Failed                               int
	Errors                               []string // first few failures, with the record
}

// Refresh writes the current link on every coupled CRM record whose link
// differs (after a reset of the web client URL: all of them), clears the
// link of records no longer coupled, and writes the web client URL to the
// solution's connection row.
func Refresh(ctx context.Context, o Options) ([]Result, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 500
	}
	company, err := CompanyName(ctx, o.ERP)
	if err != nil {
		return nil, err
	}
	if err := setup.PutConnectionRow(ctx, o.CRM, o.Setup.Name, o.Setup.ERP.WebClientURL, company); err != nil {
		return nil, err
	}
	var out []Result
	for _, t := range Targets {
		r, err := refreshTable(ctx, o, t, company)
		out = append(out, r)
		if err != nil {
			return out, err
		}
		o.Logger.InfoContext(ctx, "links refreshed", "table", t.CRMSet, "coupled", r.Coupled, "updated", r.Updated, "cleared", r.Cleared, "failed", r.Failed)
	}
	return out, nil
}

// CompanyName reads the ERP company's name (the web client addresses
// companies by name).
func CompanyName(ctx context.Context, erp *bc.Client) (string, error) {
	cs, err := erp.ListCompanies(ctx)
	if err != nil {
		return "", fmt.Errorf("links: read the ERP companies: %w", err)
	}
	for _, c := range cs {
		if strings.EqualFold(c.ID, erp.CompanyID()) {
			return c.Name, nil
		}
	}
	return "", fmt.Errorf("links: the ERP has no company %s: check erp.company-id", erp.CompanyID())
}

func refreshTable(ctx context.Context, o Options, t Target, company string) (Result, error) {
	res := Result{Table: t.CRMSet}
	numbers := map[string]string{}
	err := o.ERP.List(ctx, t.ERPEntity, bc.Query{Select: []string{"id", "number"}}, func(page []json.RawMessage) error {
		for _, raw := range page {
			var r struct{ ID, Number string }
			if err := json.Unmarshal(raw, &r); err != nil {
				return fmt.Errorf("links: an ERP %s record is not JSON: %w", t.ERPEntity, err)
			}
			numbers[strings.ToLower(r.ID)] = r.Number
		}
		return nil
	})
	if err != nil {
		return res, fmt.Errorf("links: read the ERP %s: %w", t.ERPEntity, err)
	}
	current := map[string]string{}
	for rec, err := range o.CRM.All(ctx, t.CRMSet, dataverse.Query{Select: []string{t.CRMKey, setup.ColERPLink}}) {
		if err != nil {
			return res, fmt.Errorf("links: read the CRM %s: %w", t.CRMSet, err)
		}
		current[strings.ToLower(rec.String(t.CRMKey))] = rec.String(setup.ColERPLink)
	}
	want := map[string]string{}
	var after int64
	for {
		cs, err := o.Couplings.ListCouplings(ctx, store.CouplingFilter{Mapping: t.Mapping, AfterID: after, Limit: 1000})
		if err != nil {
			return res, fmt.Errorf("links: list the couplings of %s: %w", t.Mapping, err)
		}
		for _, c := range cs {
			after = c.ID
			crmID := strings.ToLower(c.CRMID)
			if _, ok := current[crmID]; !ok {
				continue // the CRM record is gone: the engine reports it
			}
			res.Coupled++
			number, ok := numbers[strings.ToLower(c.ERPID)]
			if !ok {
				res.fail(fmt.Sprintf("%s %s: its coupled ERP %s record %s no longer exists; decouple or re-couple it", t.CRMSet, c.CRMID, t.ERPEntity, c.ERPID))
				continue
			}
			u, err := URL(o.Setup.ERP.WebClientURL, company, t.Page, number)
			if err != nil {
				return res, err
			}
			want[crmID] = u
		}
		if len(cs) < 1000 {
			break
		}
	}
	var reqs []dataverse.BatchRequest
	var ids []string
	for id, link := range current {
		w, coupled := want[id]
		switch {
		case coupled && w == link:
			res.Unchanged++
			continue
		case !coupled && link == "":
			continue
		}
		var v any = w
		if !coupled {
			v = nil
		}
		reqs = append(reqs, dataverse.BatchRequest{Method: "PATCH", Path: t.CRMSet + "(" + id + ")",
			Body: map[string]any{setup.ColERPLink: v}, Header: map[string][]string{"If-Match": {"*"}}})
		ids = append(ids, id)
	}
	for start := 0; start < len(reqs); start += o.BatchSize {
		end := min(start+o.BatchSize, len(reqs))
		results, err := o.CRM.Batch(ctx, reqs[start:end], dataverse.BatchOptions{ContinueOnError: true})
		if err != nil {
			return res, fmt.Errorf("links: write the ERP links of %s: %w", t.CRMSet, err)
		}
		for k, r := range results {
			id := ids[start+k]
			switch {
			case r.Err != nil:
				res.fail(fmt.Sprintf("%s %s: %v", t.CRMSet, id, r.Err))
			case want[id] == "":
				res.Cleared++
			default:
				res.Updated++
			}
		}
	}
	return res, nil
}

func (r *Result) fail(msg string) {
	r.Failed++
	if len(r.Errors) < 10 {
		r.Errors = append(r.Errors, msg)
	}
}
