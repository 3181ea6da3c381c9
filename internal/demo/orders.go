package demo

import (
	"context"
	"fmt"

	"github.com/coupler/coupler/internal/orders"
)

// processOrders turns the submitted CRM orders into ERP sales orders, as the
// sales order integration does on demand; a refused order is reported with
// its reason and the others go on.
func processOrders(ctx context.Context, env *setupEnv, p *printer) ([]orders.Outcome, error) {
	svc, err := orders.New(orders.Options{CRM: env.crm, ERP: env.erp, Store: env.st, Logger: env.log})
	if err != nil {
		return nil, err
	}
	out, err := svc.CreateOrders(ctx, "")
	if err != nil {
		return out, fmt.Errorf("process the submitted CRM orders: %w", err)
	}
	if len(out) == 0 {
		p.say("No submitted CRM order is waiting.")
	}
	for _, o := range out {
		switch {
		case o.Error != "":
			p.say("CRM order %s (%s): %s — %s", o.CRMNumber, o.Name, o.Result, o.Error)
		default:
			p.say("CRM order %s (%s): %s ERP sales order %s", o.CRMNumber, o.Name, o.Result, o.ERPNumber)
		}
	}
	return out, nil
}
