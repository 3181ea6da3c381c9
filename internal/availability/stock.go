package availability

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/coupler/coupler/internal/bc"
	"github.com/coupler/coupler/internal/dataverse"
	"github.com/coupler/coupler/internal/mapping"
	"github.com/coupler/coupler/internal/store"
)

// StockCursorSetting is where the stock refresh keeps the lastModifiedDateTime
// of the newest item ledger entry it has seen (RFC 3339).
const StockCursorSetting = "availability.stock_cursor"

// StockResult counts one stock refresh.
type StockResult struct {
	Moved     int `json:"moved"`     // items with ledger activity since the last run
	Updated   int `json:"updated"`   // CRM products written
	Uncoupled int `json:"uncoupled"` // moved items without a coupled product
}

// RefreshStock writes the ERP inventory of items that moved since the last
// run (item ledger entries) to quantityonhand of their coupled CRM
// products: Business Central's item availability job (cu 5356). The first
// run covers every item.
func RefreshStock(ctx context.Context, erp *bc.Client, crm *dataverse.Client, st store.Store, log *slog.Logger) (StockResult, error) {
	var res StockResult
	var since time.Time
	if v, err := st.GetSetting(ctx, StockCursorSetting); err == nil {
		since, err = time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return res, fmt.Errorf("availability: setting %s holds %q, not a time: delete the setting to refresh every item", StockCursorSetting, v)
		}
	} else if !errors.Is(err, store.ErrNotFound) {
		return res, fmt.Errorf("availability: read %s: %w", StockCursorSetting, err)
	}
	moved := map[string]bool{}
	cursor, err := erp.ListModifiedSince(ctx, bc.SetItemLedgerEntries, since, bc.Query{Select: []string{"itemNumber", "lastModifiedDateTime"}},
		func(page []json.RawMessage) error {
			for _, raw := range page {
				var e bc.ItemLedgerEntry
				if err := json.Unmarshal(raw, &e); err != nil {
					return fmt.Errorf("item ledger entry: %w", err)
				}
				moved[e.ItemNumber] = true
			}
			return nil
		})
	if err != nil {
		return res, fmt.Errorf("availability: read item ledger entries since %s: %w", since.Format(time.RFC3339), err)
	}
	res.Moved = len(moved)
	var errs []error
	for no := range moved {
		it, err := itemByNumber(ctx, erp, no)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		cp, err := st.GetCouplingByERP(ctx, mapping.ItemProduct, it.ID)
		if errors.Is(err, store.ErrNotFound) {
			res.Uncoupled++
			continue
		}
		if err != nil {
			return res, fmt.Errorf("availability: coupling of item %s: %w", no, err)
		}
		if err := crm.Update(ctx, "products", dataverse.ID(cp.CRMID), map[string]any{"quantityonhand": it.Inventory}, ""); err != nil {
			errs = append(errs, fmt.Errorf("availability: write quantityonhand %v of item %s to CRM product %s: %w", it.Inventory, no, cp.CRMID, err))
			continue
		}
		res.Updated++
	}
	if len(errs) > 0 {
		// The cursor stays, so that the failed items are tried again.
		return res, errors.Join(errs...)
	}
	if cursor.After(since) {
		if err := st.PutSetting(ctx, StockCursorSetting, cursor.UTC().Format(time.RFC3339Nano)); err != nil {
			return res, fmt.Errorf("availability: save %s: %w", StockCursorSetting, err)
		}
	}
	log.Info("stock refresh", "moved", res.Moved, "updated", res.Updated, "uncoupled", res.Uncoupled)
	return res, nil
}

func itemByNumber(ctx context.Context, erp *bc.Client, no string) (bc.Item, error) {
	var found []bc.Item
	err := bc.ListAs(ctx, erp, bc.SetItems, bc.Query{Filter: "number eq '" + escape(no) + "'", Select: []string{"id", "number", "inventory"}},
		func(is []bc.Item) error { found = append(found, is...); return nil })
	if err != nil {
		return bc.Item{}, fmt.Errorf("availability: read ERP item %s: %w", no, err)
	}
	if len(found) != 1 {
		return bc.Item{}, fmt.Errorf("availability: ERP item %s: found %d items with that number", no, len(found))
	}
	return found[0], nil
}

func escape(s string) string {
	out := make([]rune, 0, len(s))
	for _, r := range s {
		out = append(out, r)
		if r == '\'' {
			out = append(out, '\'')
		}
	}
	return string(out)
}
