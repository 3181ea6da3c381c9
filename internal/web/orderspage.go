package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/coupler/coupler/internal/orders"
)

type ordersView struct {
	Enabled  bool // the sales order integration is on
	Pending  []orders.Outcome
	Results  []orders.Outcome
	Created  int
	Failed   int
	Problem  string
	Number   string
	Disabled string // why nothing can be listed
}

// orderService dials the enabled connection; a disabled connection or
// feature is a conflict whose message says what to turn on.
func (h *Handler) orderService(ctx context.Context) (*orders.Service, error) {
	if h.dial == nil {
		return nil, errors.New("no connection dialer is wired")
	}
	c, err := h.dial(ctx)
	if errors.Is(err, orders.ErrDisabled) {
		return nil, conflict("", "the connection is not enabled: enable it on the connection page first")
	}
	if err != nil {
		return nil, err
	}
	if !c.Setup.SalesOrders.Enabled {
		return nil, conflict("", "the sales order integration is off: turn on \"sales order integration\" in the assisted setup first")
	}
	return orders.New(orders.Options{CRM: c.CRM, ERP: c.ERP, Store: h.st, Logger: h.log})
}

func (h *Handler) pendingOrders(ctx context.Context) ([]orders.Outcome, error) {
	s, err := h.orderService(ctx)
	if err != nil {
		return nil, err
	}
	return s.Pending(ctx)
}

// createOrders runs order creation now, as the signed-in user (the CRM
// write-back is recorded as theirs).
func (h *Handler) createOrders(ctx context.Context, number string) ([]orders.Outcome, error) {
	actx, err := h.actAs(ctx)
	if err != nil {
		return nil, err
	}
	s, err := h.orderService(ctx)
	if err != nil {
		return nil, err
	}
	out, err := s.CreateOrders(actx, strings.TrimSpace(number))
	if errors.Is(err, orders.ErrRefused) {
		return out, badInput("number", "%s", err.Error())
	}
	return out, err
}

func (h *Handler) ordersPage(w http.ResponseWriter, r *http.Request, status int, v ordersView, flash string) {
	pending, err := h.pendingOrders(r.Context())
	switch {
	case errors.Is(err, errConflict):
		v.Disabled = err.Error()
	case err != nil && v.Problem == "":
		v.Problem = "list the pending orders: " + err.Error()
	default:
		v.Enabled, v.Pending = true, pending
	}
	if status != http.StatusOK {
		w.WriteHeader(status)
	}
	h.view(w, r, "orders", pageData{Title: "Sales orders", NavActive: "orders", Flash: flash, Data: v})
}

func (h *Handler) ordersList(w http.ResponseWriter, r *http.Request) {
	h.ordersPage(w, r, http.StatusOK, ordersView{}, "")
}

func (h *Handler) ordersCreate(w http.ResponseWriter, r *http.Request) {
	v := ordersView{Number: r.PostFormValue("number")}
	out, err := h.createOrders(r.Context(), v.Number)
	v.Results = out
	for _, o := range out {
		switch o.Result {
		case "failed":
			v.Failed++
		case "created", "adopted":
			v.Created++
		}
	}
	if err != nil {
		v.Problem = err.Error()
		h.ordersPage(w, r, statusOf(err), v, "")
		return
	}
	h.ordersPage(w, r, http.StatusOK, v, fmt.Sprintf("%d CRM order(s) processed: %d ERP order(s) created, %d failed.", len(out), v.Created, v.Failed))
}

func (h *Handler) apiOrdersPending(w http.ResponseWriter, r *http.Request) {
	out, err := h.pendingOrders(r.Context())
	if err != nil {
		apiErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"orders": nonNil(out)})
}

func (h *Handler) apiOrdersCreate(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Number string `json:"number"`
	}
	if err := decodeBody(r, &req); err != nil {
		apiErr(w, err)
		return
	}
	out, err := h.createOrders(r.Context(), req.Number)
	if err != nil {
		apiErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"orders": nonNil(out)})
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
