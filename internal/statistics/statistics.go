// Package statistics keeps the CRM's account statistics table (from the
// integration solution) in step with the ERP's figures for each coupled
// customer: balance, sales, outstanding orders, shipped not invoiced, …,
// so that salespeople see them on the account without an ERP licence.
package statistics

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"time"

	"github.com/coupler/coupler/internal/bc"
	"github.com/coupler/coupler/internal/dataverse"
	"github.com/coupler/coupler/internal/mapping"
	"github.com/coupler/coupler/internal/setup"
	"github.com/coupler/coupler/internal/store"
	"github.com/coupler/coupler/internal/syncer"
)

// Figures are one customer's ERP statistics, in the customer's currency.
// API v2.0 has no customer statistics entity, so they are computed from
// what it offers:
//   - Balance, CreditLimit: customers.balanceDue, customers.creditLimit;
//   - Sales: posted invoices of the current year, excluding tax;
//   - OutstandingOrders: the unshipped part of open order lines, incl. tax;
//   - ShippedNotInvoiced: the shipped, not yet invoiced part of order lines;
//   - OutstandingInvoices: draft (unposted) invoices, incl. tax;
//   - BalanceDue / Overdue: remaining amount of posted invoices due by
//     today / past due.
type Figures struct {
	CustomerNumber      string
	CurrencyCode        string
	Balance             float64
	BalanceDue          float64
	CreditLimit         float64
	Sales               float64
	OutstandingOrders   float64
	ShippedNotInvoiced  float64
	OutstandingInvoices float64
	Overdue             float64
}

func (f Figures) columns() map[string]any {
	r := func(v float64) float64 { return math.Round(v*100) / 100 }
	return map[string]any{
		setup.ColStatsName: f.CustomerNumber, "cpl_currencycode": f.CurrencyCode,
		"cpl_balance": r(f.Balance), "cpl_balancedue": r(f.BalanceDue), "cpl_creditlimit": r(f.CreditLimit),
		"cpl_sales": r(f.Sales), "cpl_outstandingorders": r(f.OutstandingOrders), "cpl_shippednotinvoiced": r(f.ShippedNotInvoiced),
		"cpl_outstandinginvoices": r(f.OutstandingInvoices), "cpl_overdueamount": r(f.Overdue),
	}
}

// Compute reads the ERP once per entity set (customers, sales orders with
// their lines, sales invoices) and returns the figures of every customer,
// by customer id (lower case).
func Compute(ctx context.Context, erp *bc.Client, now time.Time) (map[string]*Figures, error) {
	out := map[string]*Figures{}
	err := erp.List(ctx, "customers", bc.Query{Select: []string{"id", "number", "currencyCode", "balanceDue", "creditLimit"}}, func(page []json.RawMessage) error {
		for _, raw := range page {
			var c struct {
				ID, Number, CurrencyCode string
				BalanceDue, CreditLimit  float64
			}
			if err := json.Unmarshal(raw, &c); err != nil {
				return fmt.Errorf("statistics: an ERP customer is not JSON: %w", err)
			}
			out[strings.ToLower(c.ID)] = &Figures{CustomerNumber: c.Number, CurrencyCode: c.CurrencyCode, Balance: c.BalanceDue, CreditLimit: c.CreditLimit}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("statistics: read the ERP customers: %w", err)
	}
	err = erp.List(ctx, "salesOrders", bc.Query{Select: []string{"id", "customerId"}, Expand: []string{"salesOrderLines"}}, func(page []json.RawMessage) error {
		for _, raw := range page {
			var o struct {
				CustomerID string
				Lines      []struct {
					Quantity, ShippedQuantity, InvoicedQuantity, AmountIncludingTax float64
				} `json:"salesOrderLines"`
			}
			if err := json.Unmarshal(raw, &o); err != nil {
				return fmt.Errorf("statistics: an ERP sales order is not JSON: %w", err)
			}
			f := out[strings.ToLower(o.CustomerID)]
			if f == nil {
				continue // an order of a customer created after the customers were read
			}
			for _, l := range o.Lines {
				if l.Quantity == 0 {
					continue
				}
				unit := l.AmountIncludingTax / l.Quantity
				f.OutstandingOrders += unit * (l.Quantity - l.ShippedQuantity)
				f.ShippedNotInvoiced += unit * (l.ShippedQuantity - l.InvoicedQuantity)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("statistics: read the ERP sales orders: %w", err)
	}
	today := now.UTC().Format(time.DateOnly)
	year := now.UTC().Format("2006")
	err = erp.List(ctx, "salesInvoices", bc.Query{Select: []string{"customerId", "status", "postingDate", "dueDate", "remainingAmount", "totalAmountExcludingTax", "totalAmountIncludingTax"}}, func(page []json.RawMessage) error {
		for _, raw := range page {
			var inv struct {
				CustomerID, Status, PostingDate, DueDate                          string
				RemainingAmount, TotalAmountExcludingTax, TotalAmountIncludingTax float64
			}
			if err := json.Unmarshal(raw, &inv); err != nil {
				return fmt.Errorf("statistics: an ERP sales invoice is not JSON: %w", err)
			}
			f := out[strings.ToLower(inv.CustomerID)]
			if f == nil {
				continue
			}
			switch inv.Status {
			case "Draft", "In Review", "In_x0020_Review":
				f.OutstandingInvoices += inv.TotalAmountIncludingTax
			case "Open", "Paid":
				if strings.HasPrefix(inv.PostingDate, year) {
					f.Sales += inv.TotalAmountExcludingTax
				}
				if inv.Status == "Open" && inv.DueDate != "" && inv.DueDate <= today {
					f.BalanceDue += inv.RemainingAmount
					if inv.DueDate < today {
						f.Overdue += inv.RemainingAmount
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("statistics: read the ERP sales invoices: %w", err)
	}
	return out, nil
}

// Couplings is what the job reads from the store.
type Couplings interface {
	ListCouplings(ctx context.Context, f store.CouplingFilter) ([]syncer.Coupling, error)
}

// Options are what one refresh needs.
type Options struct {
	CRM       *dataverse.Client
	ERP       *bc.Client
	Couplings Couplings
	Logger    *slog.Logger
	Clock     func() time.Time
}

// Result counts one refresh.
type Result struct {
	Accounts, Written, Unchanged, Failed int
	Errors                               []string
}

// Refresh writes the figures of every coupled account whose statistics
// row is missing or differs (upsert by the row's account id key).
func Refresh(ctx context.Context, o Options) (Result, error) {
	var res Result
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	set, err := setup.EntitySetName(ctx, o.CRM, setup.StatisticsTable)
	if err != nil {
		return res, err
	}
	now := o.Clock()
	figures, err := Compute(ctx, o.ERP, now)
	if err != nil {
		return res, err
	}
	existing := map[string]map[string]any{}
	cols := append([]string{setup.ColStatsAccountID, setup.ColStatsName, "cpl_currencycode"}, setup.StatisticsColumns...)
	for rec, err := range o.CRM.All(ctx, set, dataverse.Query{Select: cols}) {
		if err != nil {
			return res, fmt.Errorf("statistics: read the CRM's %s: %w", set, err)
		}
		existing[strings.ToLower(rec.String(setup.ColStatsAccountID))] = rec
	}
	var reqs []dataverse.BatchRequest
	var accounts []string
	var after int64
	for {
		cs, err := o.Couplings.ListCouplings(ctx, store.CouplingFilter{Mapping: mapping.Customer, AfterID: after, Limit: 1000})
		if err != nil {
			return res, fmt.Errorf("statistics: list the customer couplings: %w", err)
		}
		for _, c := range cs {
			after = c.ID
			res.Accounts++
			f := figures[strings.ToLower(c.ERPID)]
			if f == nil {
				res.fail(fmt.Sprintf("account %s: its coupled ERP customer %s no longer exists; decouple or re-couple it", c.CRMID, c.ERPID))
				continue
			}
			want := f.columns()
			if same(existing[strings.ToLower(c.CRMID)], want) {
				res.Unchanged++
				continue
			}
			want["cpl_lastupdated"] = now.UTC().Format(time.RFC3339)
			reqs = append(reqs, dataverse.BatchRequest{Method: "PATCH", Path: set + "(" + setup.ColStatsAccountID + "='" + strings.ToLower(c.CRMID) + "')", Body: want})
			accounts = append(accounts, c.CRMID)
		}
		if len(cs) < 1000 {
			break
		}
	}
	for start := 0; start < len(reqs); start += 500 {
		end := min(start+500, len(reqs))
		results, err := o.CRM.Batch(ctx, reqs[start:end], dataverse.BatchOptions{ContinueOnError: true})
		if err != nil {
			return res, fmt.Errorf("statistics: write to %s: %w", set, err)
		}
		for k, r := range results {
			if r.Err != nil {
				res.fail(fmt.Sprintf("account %s: %v", accounts[start+k], r.Err))
				continue
			}
			res.Written++
		}
	}
	o.Logger.InfoContext(ctx, "account statistics refreshed", "accounts", res.Accounts, "written", res.Written, "unchanged", res.Unchanged, "failed", res.Failed)
	return res, nil
}

// same compares a stored row with wanted values (numbers as float64).
func same(row map[string]any, want map[string]any) bool {
	if row == nil {
		return false
	}
	for k, v := range want {
		switch w := v.(type) {
		case float64:
			var got float64
			switch g := row[k].(type) {
			case float64:
				got = g
			case json.Number:
				got, _ = g.Float64()
			default:
				return false
			}
			if math.Abs(got-w) > 0.005 {
				return false
			}
		case string:
			got, _ := row[k].(string)
			if got != w {
				return false
			}
		}
	}
	return true
}

func (r *Result) fail(msg string) {
	r.Failed++
	if len(r.Errors) < 10 {
		r.Errors = append(r.Errors, msg)
	}
}
