package availability

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/coupler/coupler/internal/bc"
)

// Row is one record of ProductItemAvailability: BC's three fields (ItemNo,
// UOM, Inventory) and what a salesperson needs beyond them.
type Row struct {
	ItemNo           string  `json:"ItemNo"`
	UOM              string  `json:"UOM"`
	Inventory        float64 `json:"Inventory"`
	QtyOnSalesOrders float64 `json:"QtyOnSalesOrders"`
	AvailableQty     float64 `json:"AvailableQty"`
}

// snapshot is every item's availability, read from the ERP at one time.
type snapshot struct {
	at   time.Time
	rows []Row
}

// reader caches the ERP's figures for at most maxAge; concurrent callers
// share one refresh.
type reader struct {
	erp    *bc.Client
	maxAge time.Duration
	now    func() time.Time

	mu   sync.Mutex
	snap *snapshot
}

func (r *reader) get(ctx context.Context) (*snapshot, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.snap != nil && r.now().Sub(r.snap.at) < r.maxAge {
		return r.snap, nil
	}
	s, err := r.read(ctx)
	if err != nil {
		return nil, err
	}
	r.snap = s
	return s, nil
}

// read takes items and the outstanding quantity of open sales order lines.
func (r *reader) read(ctx context.Context) (*snapshot, error) {
	at := r.now()
	onOrder := map[string]float64{}
	err := bc.ListAs(ctx, r.erp, bc.SetSalesOrders, bc.Query{Select: []string{"id"}, Expand: []string{"salesOrderLines"}}, func(ds []bc.SalesDocument) error {
		for _, d := range ds {
			for _, l := range d.SalesOrderLines {
				if l.LineType == "Item" && l.ItemID != "" {
					onOrder[l.ItemID] += l.Quantity - l.ShippedQuantity
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("availability: read open sales order lines from the ERP: %w", err)
	}
	var rows []Row
	err = bc.ListAs(ctx, r.erp, bc.SetItems, bc.Query{Select: []string{"id", "number", "baseUnitOfMeasureCode", "inventory", "type"}}, func(is []bc.Item) error {
		for _, i := range is {
			if i.Type == "Service" {
				continue
			}
			q := onOrder[i.ID]
			rows = append(rows, Row{ItemNo: i.Number, UOM: i.BaseUnitOfMeasureCode, Inventory: i.Inventory, QtyOnSalesOrders: q, AvailableQty: i.Inventory - q})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("availability: read items from the ERP: %w", err)
	}
	return &snapshot{at: at, rows: rows}, nil
}
