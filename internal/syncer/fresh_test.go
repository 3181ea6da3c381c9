package syncer_test

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/coupler/coupler/internal/mapping"
	"github.com/coupler/coupler/internal/syncer"
)

// lookupCounter records the ids the engine looks couplings up by.
type lookupCounter struct {
	syncer.Store
	mu    sync.Mutex
	ids   map[string][]string // side → ids, in the CUSTOMER mapping
	lists int                 // ListCouplings calls for CUSTOMER's ids (erpDeletions)
}

func (l *lookupCounter) ListCouplings(ctx context.Context, q syncer.CouplingQuery) ([]syncer.Coupling, error) {
	if q.Mapping == mapping.Customer && q.IDsOnly { // the search for deleted ERP records
		l.mu.Lock()
		l.lists++
		l.mu.Unlock()
	}
	return l.Store.ListCouplings(ctx, q)
}

func (l *lookupCounter) GetCouplings(ctx context.Context, m, side string, ids []string) ([]syncer.Coupling, error) {
	if m == mapping.Customer {
		l.mu.Lock()
		l.ids[side] = append(l.ids[side], ids...)
		l.mu.Unlock()
	}
	return l.Store.GetCouplings(ctx, m, side, ids)
}

func (l *lookupCounter) take() (map[string][]string, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	out, lists := l.ids, l.lists
	l.ids, l.lists = map[string][]string{}, 0
	return out, lists
}

// TestFreshFullRunLooksUpOnlyMatches: a full run of a mapping without
// couplings asks the store about the matched pairs only, does not list
// the couplings to find deleted ERP records, and does what a run that
// asks about every id does; the next full run asks about all.
func TestFreshFullRunLooksUpOnlyMatches(t *testing.T) {
	t.Parallel()
	e := setup(t, nil)
	ctx := context.Background()
	for i := range 20 {
		e.erp.put("customers", fmt.Sprintf("c-9%04d", i), customer(fmt.Sprintf("9%04d", i), fmt.Sprintf("Bulk %d", i), "JO", "pt-1"))
		e.crm.put("accounts", fmt.Sprintf("acc-other-%d", i), map[string]any{"name": fmt.Sprintf("Other %d", i), "accountnumber": fmt.Sprintf("O%d", i), "customertypecode": 3, "statecode": 0})
	}
	// Two accounts match ERP customers by number: they are coupled, not created again.
	e.crm.put("accounts", "acc-match-1", map[string]any{"name": "Bulk 1 (CRM)", "accountnumber": "90001", "customertypecode": 3, "statecode": 0})
	e.crm.put("accounts", "acc-match-2", map[string]any{"name": "Bulk 2 (CRM)", "accountnumber": "90002", "customertypecode": 3, "statecode": 0})
	e.run(t, true, mapping.Salespeople, mapping.Currency, mapping.PaymentTerms, mapping.ShipmentMethod)

	lc := &lookupCounter{Store: e.st, ids: map[string][]string{}}
	eng, err := syncer.New(syncer.Options{Store: lc, CRM: e.crm, ERP: e.erp, Clock: e.clock.Now, Overlap: 500 * time.Millisecond,
		Logger: slog.New(slog.DiscardHandler), Mappings: func(context.Context) ([]mapping.TableMapping, error) { return e.ms, nil }})
	require.NoError(t, err)
	jobs, err := eng.Run(ctx, []string{mapping.Customer}, syncer.RunOptions{Full: true})
	require.NoError(t, err)
	j := jobs[0]
	require.Equal(t, "succeeded", j.Status, j.Message)
	require.Equal(t, 2, j.Counts.Coupled, j.Message)
	require.Equal(t, 20, j.Counts.Inserted, "22 customers (2 of the demo, 20 bulk), 2 of them matched")
	require.Equal(t, 2, j.Counts.Modified, j.Message)
	looked, lists := lc.take()
	require.Zero(t, lists, "no listing of the couplings to find deleted ERP records: the run saw every id it coupled")
	slices.Sort(looked[syncer.SideERP])
	require.Equal(t, []string{"c-90001", "c-90002"}, looked[syncer.SideERP], "ERP lookups: the matched ids only")
	slices.Sort(looked[syncer.SideCRM])
	require.Equal(t, []string{"acc-match-1", "acc-match-2"}, looked[syncer.SideCRM], "CRM lookups: the matched ids only, not the 22 rows read")
	for _, id := range []string{"acc-match-1", "acc-match-2"} {
		c, err := e.st.GetCouplingByCRM(ctx, mapping.Customer, id)
		require.NoError(t, err)
		require.Contains(t, []string{"c-90001", "c-90002"}, c.ERPID)
	}
	n, err := e.st.CountCouplings(ctx, mapping.Customer)
	require.NoError(t, err)
	require.Equal(t, 22, n)
	require.Equal(t, 20+2+20, e.crm.count("accounts"), "20 others, 2 matched, 20 created")

	// Not fresh any more: every id read is looked up.
	e.clock.t = e.clock.t.Add(time.Minute)
	jobs, err = eng.Run(ctx, []string{mapping.Customer}, syncer.RunOptions{Full: true})
	require.NoError(t, err)
	require.Equal(t, "succeeded", jobs[0].Status, jobs[0].Message)
	require.Equal(t, 0, jobs[0].Counts.Inserted)
	looked, lists = lc.take()
	require.NotZero(t, lists, "the couplings are listed to find deleted ERP records")
	require.Len(t, looked[syncer.SideERP], 22, "the ERP phase looks the 22 up once: matching checks the uncoupled ones as it goes")
	require.NotEmpty(t, looked[syncer.SideCRM])
}
