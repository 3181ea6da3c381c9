package orders

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/coupler/coupler/internal/bc"
	"github.com/coupler/coupler/internal/dataverse"
	"github.com/coupler/coupler/internal/store"
)

func dataverseID(id string) dataverse.Key { return dataverse.ID(id) }

// Pending lists submitted CRM orders that have no ERP order yet (never
// tried, failed, or interrupted).
func (s *Service) Pending(ctx context.Context) ([]Outcome, error) {
	os, err := s.submittedOrders(ctx, "")
	if err != nil {
		return nil, err
	}
	var out []Outcome
	for _, o := range os {
		d, err := s.o.Store.GetDocument(ctx, KindOrder, o.ID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("orders: state of CRM order %s: %w", o.Number, err)
		}
		if d.State == store.DocCreated {
			continue
		}
		out = append(out, Outcome{CRMID: o.ID, CRMNumber: o.Number, Name: o.Name, Result: nonEmpty(d.State, "new"), Error: d.Error})
	}
	return out, nil
}

func nonEmpty(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// CreateOrders turns submitted CRM orders into ERP orders: all of them, or
// the one with the given number. A refused order is reported and the run
// goes on; an error is returned only when the run itself cannot go on.
func (s *Service) CreateOrders(ctx context.Context, number string) ([]Outcome, error) {
	os, err := s.submittedOrders(ctx, number)
	if err != nil {
		return nil, err
	}
	if number != "" && len(os) == 0 {
		return nil, fmt.Errorf("orders: no submitted CRM order has number %q (only Submitted orders become ERP orders)", number)
	}
	out := make([]Outcome, 0, len(os))
	for _, o := range os {
		oc, err := s.createOrder(ctx, o)
		if err != nil && !errors.Is(err, ErrRefused) {
			return out, err
		}
		out = append(out, oc)
	}
	return out, nil
}

// createOrder is the exactly-once path of one CRM order:
// claim (intent recorded) → look up a lost earlier attempt → POST → record.
func (s *Service) createOrder(ctx context.Context, o crmOrder) (Outcome, error) {
	oc := Outcome{CRMID: o.ID, CRMNumber: o.Number, Name: o.Name}
	now := s.o.Now().UTC()
	prev, err := s.o.Store.ClaimDocument(ctx, store.Document{Kind: KindOrder, CRMID: o.ID, CRMNumber: o.Number}, now.Add(s.o.Lease))
	if errors.Is(err, store.ErrConflict) {
		oc.Result = "busy"
		return oc, nil
	}
	if err != nil {
		return oc, fmt.Errorf("orders: claim CRM order %s: %w", o.Number, err)
	}
	d := prev
	d.Kind, d.CRMID, d.CRMNumber, d.Attempts = KindOrder, o.ID, o.Number, prev.Attempts+1
	var timeZero time.Time
	release := func(state, msg string) error {
		d.State, d.Error, d.LeaseUntil = state, msg, timeZero
		if err := s.o.Store.PutDocument(ctx, d); err != nil {
			return fmt.Errorf("orders: record CRM order %s: %w", o.Number, err)
		}
		return nil
	}
	if prev.State == store.DocCreated {
		oc.Result, oc.ERPNumber = "existing", prev.ERPNumber
		d.Attempts = prev.Attempts
		if prev.ERPStatus == "" { // the CRM was not told yet (crash or CRM error after the ERP write)
			return s.finish(ctx, o, &d, oc, release)
		}
		return oc, release(store.DocCreated, "")
	}
	fail := func(err error) (Outcome, error) {
		oc.Result, oc.Error = "failed", err.Error()
		s.log.Warn("CRM order not created in the ERP", "order", o.Number, "err", err)
		state := store.DocFailed
		if !errors.Is(err, ErrRefused) {
			state = store.DocPending // outcome unknown: look up before any retry
		}
		return oc, errors.Join(err, release(state, err.Error()))
	}
	if err := s.details(ctx, &o, "salesorderdetails", "salesorderid", "order"); err != nil {
		return fail(err)
	}
	cust, err := s.customer(ctx, o)
	if err != nil {
		return fail(err)
	}
	body, services, err := s.build(ctx, KindOrder, o, cust)
	if err != nil {
		return fail(err)
	}
	// A pending row means an earlier attempt may have reached the ERP.
	if prev.State == store.DocPending {
		if ex, ok, err := s.findExisting(ctx, bc.SetSalesOrders, "salesOrderLines", KindOrder, o, cust.ID); err != nil {
			return fail(err)
		} else if ok {
			d.ERPID, d.ERPNumber = ex.ID, ex.Number
			oc.Result, oc.ERPNumber = "adopted", ex.Number
			return s.finish(ctx, o, &d, oc, release)
		}
	}
	// The intent, durable before the POST (the claim made it for a new
	// order; a failed one becomes pending again here).
	d.State, d.Error, d.LeaseUntil = store.DocPending, "", now.Add(s.o.Lease)
	if err := s.o.Store.PutDocument(ctx, d); err != nil {
		return oc, fmt.Errorf("orders: record CRM order %s: %w", o.Number, err)
	}
	if s.o.BeforePost != nil {
		if err := s.o.BeforePost(o.Number); err != nil {
			return oc, err
		}
	}
	raw, err := s.o.ERP.Create(ctx, bc.SetSalesOrders, body)
	if err != nil {
		if refused := missingResource(KindOrder, o, services, err); refused != nil {
			return fail(refused)
		}
		var api *bc.APIError
		if errors.As(err, &api) && api.Status >= 400 && api.Status < 500 && api.Status != 429 {
			return fail(fmt.Errorf("%w: the ERP refused CRM order %s: %w", ErrRefused, o.Number, err))
		}
		return fail(fmt.Errorf("orders: create ERP order for CRM order %s: %w", o.Number, err))
	}
	var hd bc.SalesDocument
	if err := json.Unmarshal(raw, &hd); err != nil || hd.ID == "" {
		return fail(fmt.Errorf("orders: ERP answer to the order of CRM order %s has no id: %v", o.Number, err))
	}
	if s.o.AfterPost != nil {
		if err := s.o.AfterPost(o.Number); err != nil {
			return oc, err
		}
	}
	d.ERPID, d.ERPNumber = hd.ID, hd.Number
	oc.Result, oc.ERPNumber = "created", hd.Number
	return s.finish(ctx, o, &d, oc, release)
}

// finish records the ERP order and tells the CRM: lastbackofficesubmit and
// a post on the order's wall with the ERP number.
func (s *Service) finish(ctx context.Context, o crmOrder, d *store.Document, oc Outcome, release func(state, msg string) error) (Outcome, error) {
	// Created, and the CRM not told yet (ERPStatus ""): a failure below is
	// retried by the next run, which finds the order created.
	d.ERPStatus = ""
	if err := release(store.DocCreated, ""); err != nil {
		return oc, err
	}
	s.log.Info("CRM order created in the ERP", "order", o.Number, "erp_number", d.ERPNumber, "result", oc.Result)
	today := s.o.Now().UTC().Format(time.DateOnly)
	// One atomic $batch: the date and the post land together.
	res, err := s.o.CRM.Batch(ctx, []dataverse.BatchRequest{
		{Method: "PATCH", Path: "salesorders(" + o.ID + ")", ChangeSet: "cs", Body: map[string]any{"lastbackofficesubmit": today}},
		postReq(o.ID, fmt.Sprintf("Sales order %s was created in the ERP from CRM order %s.", d.ERPNumber, o.Number)),
	}, dataverse.BatchOptions{})
	if err == nil {
		for _, r := range res {
			if r.Err != nil {
				err = r.Err
				break
			}
		}
	}
	if err != nil {
		return oc, fmt.Errorf("orders: write lastbackofficesubmit and the ERP number on CRM order %s: %w", o.Number, err)
	}
	d.ERPStatus = "created"
	if err := s.o.Store.PutDocument(ctx, *d); err != nil {
		return oc, fmt.Errorf("orders: record CRM order %s: %w", o.Number, err)
	}
	return oc, nil
}
