package orders

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/coupler/coupler/internal/bc"
	"github.com/coupler/coupler/internal/dataverse"
	"github.com/coupler/coupler/internal/store"
)

var quoteColumns = []string{"quoteid", "quotenumber", "name", "_customerid_value", "_transactioncurrencyid_value",
	"discountamount", "freightamount", "statecode", "revisionnumber",
	"shipto_name", "shipto_line1", "shipto_line2", "shipto_city", "shipto_stateorprovince", "shipto_postalcode", "shipto_country"}

// ProcessQuotes is "process quotes automatically" (cu 5348): an Active CRM
// quote creates an ERP sales quote; a revision (a new quote row with the
// same number, or a higher revision number) updates it; a Won quote whose
// CRM order is submitted becomes the ERP order and the ERP quote goes.
// Quotes are keyed by quote number, because a revision is a new CRM row.
func (s *Service) ProcessQuotes(ctx context.Context) ([]Outcome, error) {
	var qs []crmOrder
	for r, err := range s.o.CRM.All(ctx, "quotes", dataverse.Query{Select: quoteColumns, Filter: "statecode eq 1 or statecode eq 2",
		OrderBy: "quotenumber asc", Annotations: "Microsoft.Dynamics.CRM.lookuplogicalname"}) {
		if err != nil {
			return nil, fmt.Errorf("orders: list active and won CRM quotes: %w", err)
		}
		qs = append(qs, parseOrder(r, "quoteid", "quotenumber"))
	}
	var out []Outcome
	for _, q := range qs {
		var oc Outcome
		var err error
		if q.State == 2 {
			oc, err = s.wonQuote(ctx, q)
		} else {
			oc, err = s.activeQuote(ctx, q)
		}
		if err != nil && !errors.Is(err, ErrRefused) {
			return out, err
		}
		if oc.Result != "" {
			out = append(out, oc)
		}
	}
	return out, nil
}

func quoteVersion(q crmOrder) string { return q.ID + "#" + strconv.Itoa(q.Revision) }

func (s *Service) activeQuote(ctx context.Context, q crmOrder) (Outcome, error) {
	oc := Outcome{CRMID: q.ID, CRMNumber: q.Number, Name: q.Name}
	now := s.o.Now().UTC()
	prev, err := s.o.Store.ClaimDocument(ctx, store.Document{Kind: KindQuote, CRMID: q.Number, CRMNumber: q.Number}, now.Add(s.o.Lease))
	if errors.Is(err, store.ErrConflict) {
		oc.Result = "busy"
		return oc, nil
	}
	if err != nil {
		return oc, fmt.Errorf("orders: claim CRM quote %s: %w", q.Number, err)
	}
	d := prev
	d.Kind, d.CRMID, d.CRMNumber = KindQuote, q.Number, q.Number
	save := func(state, msg string) error {
		d.State, d.Error, d.LeaseUntil = state, msg, time.Time{}
		if err := s.o.Store.PutDocument(ctx, d); err != nil {
			return fmt.Errorf("orders: record CRM quote %s: %w", q.Number, err)
		}
		return nil
	}
	if prev.State == store.DocCreated && prev.CRMVersion == quoteVersion(q) {
		return Outcome{}, save(store.DocCreated, "") // nothing new
	}
	fail := func(err error) (Outcome, error) {
		oc.Result, oc.Error = "failed", err.Error()
		s.log.Warn("CRM quote not processed", "quote", q.Number, "err", err)
		state := store.DocFailed
		if prev.State == store.DocCreated {
			state = store.DocCreated // the ERP quote exists; the revision is retried next run
		} else if !errors.Is(err, ErrRefused) {
			state = store.DocPending
		}
		return oc, errors.Join(err, save(state, err.Error()))
	}
	d.Attempts++
	if err := s.details(ctx, &q, "quotedetails", "quoteid", "quote"); err != nil {
		return fail(err)
	}
	cust, err := s.customer(ctx, q)
	if err != nil {
		return fail(err)
	}
	body, services, err := s.build(ctx, KindQuote, q, cust)
	if err != nil {
		return fail(err)
	}
	if prev.State == store.DocCreated {
		if err := s.reviseQuote(ctx, d.ERPID, body); err != nil {
			if refused := missingResource(KindQuote, q, services, err); refused != nil {
				return fail(refused)
			}
			return fail(err)
		}
		d.CRMVersion = quoteVersion(q)
		oc.Result, oc.ERPNumber = "revised", d.ERPNumber
		return oc, save(store.DocCreated, "")
	}
	if prev.State == store.DocPending {
		ex, ok, err := s.findExisting(ctx, bc.SetSalesQuotes, "salesQuoteLines", KindQuote, q, cust.ID)
		if err != nil {
			return fail(err)
		}
		if ok {
			d.ERPID, d.ERPNumber, d.CRMVersion = ex.ID, ex.Number, quoteVersion(q)
			oc.Result, oc.ERPNumber = "adopted", ex.Number
			return oc, save(store.DocCreated, "")
		}
	}
	d.State, d.LeaseUntil = store.DocPending, now.Add(s.o.Lease)
	if err := s.o.Store.PutDocument(ctx, d); err != nil {
		return oc, fmt.Errorf("orders: record CRM quote %s: %w", q.Number, err)
	}
	raw, err := s.o.ERP.Create(ctx, bc.SetSalesQuotes, body)
	if err != nil {
		if refused := missingResource(KindQuote, q, services, err); refused != nil {
			return fail(refused)
		}
		return fail(fmt.Errorf("orders: create ERP quote for CRM quote %s: %w", q.Number, err))
	}
	var hd bc.SalesDocument
	if err := json.Unmarshal(raw, &hd); err != nil || hd.ID == "" {
		return fail(fmt.Errorf("orders: ERP answer to the quote of CRM quote %s has no id: %v", q.Number, err))
	}
	d.ERPID, d.ERPNumber, d.CRMVersion, d.ERPStatus = hd.ID, hd.Number, quoteVersion(q), "created"
	oc.Result, oc.ERPNumber = "created", hd.Number
	s.log.Info("CRM quote created in the ERP", "quote", q.Number, "erp_number", hd.Number)
	return oc, save(store.DocCreated, "")
}

// reviseQuote replaces the ERP quote's header fields and lines with the
// revised CRM quote's (BC archives the old version; the API cannot).
func (s *Service) reviseQuote(ctx context.Context, id string, body erpDoc) error {
	lines, _ := body["salesQuoteLines"].([]map[string]any)
	head := erpDoc{}
	for k, v := range body {
		if k != "salesQuoteLines" && k != "customerId" {
			head[k] = v
		}
	}
	if _, err := s.o.ERP.Update(ctx, bc.SetSalesQuotes, id, "*", head); err != nil {
		return fmt.Errorf("orders: update ERP quote %s: %w", id, err)
	}
	cur, err := bc.GetAs[bc.SalesDocument](ctx, s.o.ERP, bc.SetSalesQuotes, id, bc.Query{Expand: []string{"salesQuoteLines"}})
	if err != nil {
		return fmt.Errorf("orders: read ERP quote %s: %w", id, err)
	}
	// The new lines go in before the old ones go, so a line the ERP refuses
	// (a missing resource) leaves the quote as it was.
	path := bc.SetSalesQuotes + "(" + id + ")/" + bc.SetSalesQuoteLines
	var added []string
	for _, l := range lines {
		raw, err := s.o.ERP.Create(ctx, path, l)
		if err != nil {
			for _, a := range added {
				if derr := s.o.ERP.Delete(ctx, bc.SetSalesQuoteLines, a, "*"); derr != nil {
					err = errors.Join(err, fmt.Errorf("orders: remove a new line of ERP quote %s again: %w", cur.Number, derr))
				}
			}
			return fmt.Errorf("orders: add line to ERP quote %s: %w", cur.Number, err)
		}
		var nl bc.SalesDocumentLine
		if err := json.Unmarshal(raw, &nl); err != nil || nl.ID == "" {
			return fmt.Errorf("orders: ERP answer to a new line of quote %s has no id: %v", cur.Number, err)
		}
		added = append(added, nl.ID)
	}
	for _, l := range cur.SalesQuoteLines {
		if err := s.o.ERP.Delete(ctx, bc.SetSalesQuoteLines, l.ID, "*"); err != nil {
			return fmt.Errorf("orders: remove line %d of ERP quote %s: %w", l.Sequence, cur.Number, err)
		}
	}
	return nil
}

// wonQuote turns a won quote's submitted CRM order into the ERP order
// (through the exactly-once order path) and removes the ERP quote.
func (s *Service) wonQuote(ctx context.Context, q crmOrder) (Outcome, error) {
	d, err := s.o.Store.GetDocument(ctx, KindQuote, q.Number)
	if errors.Is(err, store.ErrNotFound) || (err == nil && (d.State != store.DocCreated || d.ERPStatus == "won")) {
		return Outcome{}, nil
	}
	if err != nil {
		return Outcome{}, fmt.Errorf("orders: state of CRM quote %s: %w", q.Number, err)
	}
	var order *crmOrder
	for r, err := range s.o.CRM.All(ctx, "salesorders", dataverse.Query{Select: orderColumns, Filter: "statecode eq 1 and _quoteid_value eq " + q.ID,
		Annotations: "Microsoft.Dynamics.CRM.lookuplogicalname"}) {
		if err != nil {
			return Outcome{}, fmt.Errorf("orders: order of won CRM quote %s: %w", q.Number, err)
		}
		o := parseOrder(r, "salesorderid", "ordernumber")
		order = &o
	}
	if order == nil {
		return Outcome{}, nil // won, but its order is not submitted yet
	}
	oc, err := s.createOrder(ctx, *order)
	if err != nil || (oc.Result != "created" && oc.Result != "adopted" && oc.Result != "existing") {
		return oc, err
	}
	if err := s.o.ERP.Delete(ctx, bc.SetSalesQuotes, d.ERPID, "*"); err != nil && !errors.Is(err, bc.ErrNotFound) {
		return oc, fmt.Errorf("orders: remove ERP quote %s of won CRM quote %s: %w", d.ERPNumber, q.Number, err)
	}
	d.ERPStatus = "won"
	if err := s.o.Store.PutDocument(ctx, d); err != nil {
		return oc, fmt.Errorf("orders: record won CRM quote %s: %w", q.Number, err)
	}
	return oc, nil
}
