package syncjobs

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/coupler/coupler/internal/mapping"
	"github.com/coupler/coupler/internal/syncer"
)

func afterOf(us []unit) map[string][]string {
	out := map[string][]string{}
	for _, u := range us {
		out[u.Mapping] = u.After
	}
	return out
}

// TestPlanSplitsARunAsEngineRunDoes: one unit per mapping Engine.Run runs
// at the top (line mappings inside their header's unit), in its order,
// each after the units of the same round it depends on.
func TestPlanSplitsARunAsEngineRunDoes(t *testing.T) {
	t.Parallel()
	ms := mapping.Defaults()
	tests := []struct {
		name  string
		names []string
		want  map[string][]string
	}{
		{"all enabled", nil, map[string][]string{
			mapping.Salespeople: nil, mapping.Currency: nil, mapping.UnitOfMeasure: nil,
			mapping.PaymentTerms: nil, mapping.ShipmentMethod: nil,
			mapping.Customer:     {mapping.Salespeople, mapping.Currency, mapping.PaymentTerms, mapping.ShipmentMethod},
			mapping.Vendor:       {mapping.Currency, mapping.PaymentTerms},
			mapping.Contact:      {mapping.Customer, mapping.Vendor},
			mapping.ItemProduct:  {mapping.UnitOfMeasure},
			mapping.PriceList:    nil,
			mapping.ProductPrice: {mapping.ItemProduct, mapping.PriceList, mapping.UnitOfMeasure}, // a lookup
			// Its lines' dependencies (items, units) count for the header.
			mapping.PostedInvoice: {mapping.Salespeople, mapping.Currency, mapping.UnitOfMeasure, mapping.PaymentTerms, mapping.Customer, mapping.ItemProduct, mapping.PriceList},
			mapping.SalesOrder:    {mapping.Salespeople, mapping.Currency, mapping.UnitOfMeasure, mapping.PaymentTerms, mapping.Customer, mapping.ItemProduct, mapping.PriceList},
		}},
		{"dependencies outside the round are not waited for", []string{"contact", mapping.Vendor}, map[string][]string{
			mapping.Vendor: nil, mapping.Contact: {mapping.Vendor},
		}},
		{"a line mapping named with its header runs with it", []string{mapping.SalesOrderLine, mapping.SalesOrder, mapping.ItemProduct}, map[string][]string{
			mapping.ItemProduct: nil, mapping.SalesOrder: {mapping.ItemProduct},
		}},
		{"a line mapping alone is its own unit", []string{mapping.SalesOrderLine}, map[string][]string{
			mapping.SalesOrderLine: nil,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			us, err := plan(ms, tt.names)
			require.NoError(t, err)
			got := afterOf(us)
			for m, after := range tt.want {
				require.Contains(t, got, m)
				require.ElementsMatch(t, after, got[m], "%s runs after", m)
			}
			require.Len(t, got, len(tt.want))
			// Each unit comes after the units it waits for.
			pos := map[string]int{}
			for i, u := range us {
				pos[u.Mapping] = i
			}
			for _, u := range us {
				for _, a := range u.After {
					require.Less(t, pos[a], pos[u.Mapping], "%s listed before %s", u.Mapping, a)
				}
			}
		})
	}
	_, err := plan(ms, []string{"NOPE"})
	require.ErrorIs(t, err, syncer.ErrUnknownMapping)
}

func TestPauseGrowsWithTheWaitWithinBounds(t *testing.T) {
	t.Parallel()
	require.Equal(t, minPause, pause(0))
	require.Equal(t, 500*time.Millisecond, pause(4*time.Second))
	require.Equal(t, maxPause, pause(time.Hour))
}
