package syncer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/coupler/coupler/internal/mapping"
)

// reconcile settles the writes announced by an earlier run that crashed
// before recording their outcome: a create that reached the destination
// is coupled instead of being sent again; one that did not is dropped and
// its source, still past the high-water mark, is written again.
func (r *run) reconcile(ctx context.Context) error {
	st := r.e.opts.Store
	intents, err := st.ListIntents(ctx, r.m.Name)
	if err != nil || len(intents) == 0 {
		return err
	}
	var done []int64
	for _, in := range intents {
		settled, err := r.settle(ctx, in)
		if err != nil {
			return fmt.Errorf("intent %d (%s): %w", in.ID, intentSubject(in), err)
		}
		if settled {
			done = append(done, in.ID)
		}
	}
	if len(done) > 0 {
		r.note("%d write(s) interrupted by an earlier stop were reconciled", len(done))
		return st.DeleteIntents(ctx, done)
	}
	return nil
}

func (r *run) settle(ctx context.Context, in Intent) (bool, error) {
	if in.Op == opCreates {
		return true, r.settleCreates(ctx, in)
	}
	if in.Op != "create" {
		return true, nil // updates are idempotent: the next run sends them again
	}
	st := r.e.opts.Store
	if in.Direction == string(mapping.ToCRM) {
		if _, err := st.GetCouplingByERP(ctx, r.m.Name, in.SourceID); err == nil {
			return true, nil
		}
		recs, err := r.e.opts.CRM.Get(ctx, r.m.CRMEntitySet, r.m.CRMKey, []string{in.TargetID})
		if err != nil {
			return false, err
		}
		if len(recs) == 1 {
			// Created before the crash: couple it; a zero ERP time makes the
			// next run send the record's current values again.
			_, err := st.PutCoupling(ctx, Coupling{Mapping: r.m.Name, ERPID: in.SourceID, CRMID: in.TargetID, CRMModifiedAt: recs[0].ModifiedAt, LastResult: ResultSuccess, LastJobID: r.job.ID})
			if err == nil {
				r.add(func(c *Counts) { c.Coupled++ })
			}
			return err == nil, err
		}
		return true, nil
	}
	// An ERP create: the ERP assigns the id, so look the record up by its
	// number (or the match fields) before anything creates it again.
	if _, err := st.GetCouplingByCRM(ctx, r.m.Name, in.SourceID); err == nil {
		return true, nil
	}
	var payload map[string]any
	if err := json.Unmarshal([]byte(in.Payload), &payload); err != nil {
		return false, fmt.Errorf("payload of the intent is not JSON: %w", err)
	}
	filter := r.identityFilter(payload)
	if filter == "" {
		r.note("an interrupted ERP create of CRM %s could not be checked (no number or match field in the payload): check %s for a duplicate", in.SourceID, r.m.ERPEntity)
		return true, nil
	}
	recs, err := r.e.opts.ERP.Find(ctx, r.m.ERPEntity, "id", filter)
	if err != nil {
		return false, err
	}
	switch len(recs) {
	case 0:
		return true, nil
	case 1:
		_, err := st.PutCoupling(ctx, Coupling{Mapping: r.m.Name, ERPID: recs[0].ID, CRMID: in.SourceID, ERPModifiedAt: recs[0].ModifiedAt, LastResult: ResultSuccess, LastJobID: r.job.ID})
		if errors.Is(err, ErrTaken) {
			return true, nil
		}
		if err == nil {
			r.add(func(c *Counts) { c.Coupled++ })
		}
		return err == nil, err
	default:
		r.recordErrors(ctx, []SyncError{{Mapping: r.m.Name, Direction: in.Direction, CRMID: in.SourceID, Code: CodeAmbiguous, Payload: in.Payload,
			Message: fmt.Sprintf("an interrupted ERP create matches %d %s (%s): couple the right one with coupler couple %q <erp-id> %s", len(recs), r.m.ERPEntity, filter, r.m.Name, in.SourceID)}})
		return true, nil
	}
}

// identityFilter is the OData filter finding an ERP record created from
// this payload: its number, else its match fields.
func (r *run) identityFilter(payload map[string]any) string {
	if f := r.m.ERPCodeField; f != "" {
		if s, ok := payload[f].(string); ok && s != "" {
			return fmt.Sprintf("%s eq %s", f, quote(s))
		}
	}
	for _, group := range r.m.MatchFields() {
		var parts []string
		for _, fm := range group {
			s, ok := payload[fm.ERPField].(string)
			if !ok || s == "" {
				parts = nil
				break
			}
			parts = append(parts, fmt.Sprintf("%s eq %s", fm.ERPField, quote(s)))
		}
		if len(parts) > 0 {
			return strings.Join(parts, " and ")
		}
	}
	return ""
}

func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
