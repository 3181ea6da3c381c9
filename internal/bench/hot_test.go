package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/coupler/coupler/internal/mapping"
	"github.com/coupler/coupler/internal/store"
	"github.com/coupler/coupler/internal/syncer"
	"github.com/coupler/coupler/internal/syncer/syncstore"
)

// fixedRefs resolves every lookup to one CRM id, as couplings of the small
// lookup mappings (salespeople, payment terms…) would.
type fixedRefs struct {
	ms map[string]*mapping.TableMapping
}

func (f fixedRefs) Mapping(name string) (*mapping.TableMapping, bool) {
	m, ok := f.ms[name]
	return m, ok
}
func (f fixedRefs) CRMRef(_ context.Context, l mapping.Lookup, _ string) (string, error) {
	if m, ok := f.ms[l.Mapping]; ok && m.Kind == mapping.KindOption {
		return "2", nil
	}
	return "6f9619ff-8b86-d011-b42d-00c04fc964ff", nil
}
func (fixedRefs) ERPRef(context.Context, mapping.Lookup, string) (string, error) {
	return "6f9619ff-8b86-d011-b42d-00c04fc964ff", nil
}

func customerFields(i int) map[string]any {
	return map[string]any{
		"id": fmt.Sprintf("00000000-0000-0000-0000-%012d", i), "number": fmt.Sprintf("S%07d", i),
		"displayName": fmt.Sprintf("Adams Trading %d", i), "type": "Company", "addressLine1": "12 High Street",
		"addressLine2": "", "city": "London", "state": "", "country": "GB", "postalCode": "EC1A 1BB",
		"phoneNumber": "+44 20 7946 0000", "email": fmt.Sprintf("contact%d@example.com", i), "website": "",
		"salespersonCode": "JO", "creditLimit": 1000.0, "taxLiable": true, "currencyCode": "GBP",
		"paymentTermsId": "6f9619ff-8b86-d011-b42d-00c04fc964ff", "shipmentMethodId": "",
		"lastModifiedDateTime": "2026-01-01T00:00:00Z",
	}
}

// setupStore opens the SQLite store in a temporary data dir, closed with
// the benchmark.
func setupStore(b *testing.B) syncer.Store {
	b.Helper()
	db, err := store.Open(context.Background(), store.Options{DataDir: b.TempDir(), Logger: slog.New(slog.DiscardHandler)})
	require.NoError(b, err)
	b.Cleanup(func() { _ = db.Close() })
	return syncstore.New(db)
}

// customerSnapshot is what a coupling of a customer holds: the values last
// synchronised, as JSON.
const customerSnapshot = `{"addressLine1":"12 High Street","addressLine2":"","city":"London","country":"GB","creditLimit":1000,` +
	`"currencyCode":"GBP","displayName":"Adams Trading 1","email":"contact1@example.com","number":"S0000001",` +
	`"paymentTermsId":"6f9619ff-8b86-d011-b42d-00c04fc964ff","phoneNumber":"+44 20 7946 0000","postalCode":"EC1A 1BB",` +
	`"salespersonCode":"JO","shipmentMethodId":"","state":"","website":""}`

// BenchmarkTransformCustomer is the per-record work of a full run: one ERP
// customer to its CRM account payload with every default field mapping.
func BenchmarkTransformCustomer(b *testing.B) {
	ms := map[string]*mapping.TableMapping{}
	for _, m := range mapping.Defaults() {
		ms[m.Name] = &m
	}
	m := ms[mapping.Customer]
	src := customerFields(1)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := mapping.TransformToCRM(ctx, m, src, fixedRefs{ms}, true); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCouplingLookup is the engine's coupling lookup for one page of
// 1,000 ERP ids among 100,000 couplings in SQLite.
func BenchmarkCouplingLookup(b *testing.B) {
	ctx := context.Background()
	st := setupStore(b)
	const n, page = 100_000, 1000
	ids := make([]string, n)
	cs := make([]syncer.Coupling, 0, page)
	for i := range n {
		ids[i] = fmt.Sprintf("00000000-0000-0000-0000-%012d", i)
		cs = append(cs, syncer.Coupling{Mapping: mapping.Customer, ERPID: ids[i], CRMID: syncer.DeterministicID(mapping.Customer, ids[i]), LastResult: syncer.ResultSuccess})
		if len(cs) == page {
			require.NoError(b, st.PutCouplings(ctx, cs))
			cs = cs[:0]
		}
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		start := (i * page) % n
		got, err := st.GetCouplings(ctx, mapping.Customer, syncer.SideERP, ids[start:start+page])
		if err != nil || len(got) != page {
			b.Fatalf("%d couplings, %v", len(got), err)
		}
		i++
	}
}

// BenchmarkFailedCouplings is what every run asks before retrying: the
// failed couplings of a mapping (here 10) among 100,000 couplings with
// their snapshots, in SQLite.
func BenchmarkFailedCouplings(b *testing.B) {
	ctx := context.Background()
	st := setupStore(b)
	const n, page, failed = 100_000, 1000, 10
	cs := make([]syncer.Coupling, 0, page)
	for i := range n {
		id := fmt.Sprintf("00000000-0000-0000-0000-%012d", i)
		c := syncer.Coupling{Mapping: mapping.Customer, ERPID: id, CRMID: syncer.DeterministicID(mapping.Customer, id),
			LastResult: syncer.ResultSuccess, Snapshot: customerSnapshot}
		if i%(n/failed) == 0 {
			c.LastResult, c.LastError, c.FailCount = syncer.ResultFailure, "HTTP400: refused", 1
		}
		cs = append(cs, c)
		if len(cs) == page {
			require.NoError(b, st.PutCouplings(ctx, cs))
			cs = cs[:0]
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		got, err := st.ListCouplings(ctx, syncer.CouplingQuery{Mapping: mapping.Customer, FailedOnly: true})
		if err != nil || len(got) != failed {
			b.Fatalf("%d failed couplings, %v", len(got), err)
		}
	}
}

// BenchmarkChunkOutcome is the store's share of one $batch of a full run:
// the intents of 1,000 creates in one transaction, then, in another, the
// 1,000 new couplings (random ids, as BC's and the deterministic CRM ids
// are, with their snapshots) and the intents deleted, on a table that
// already holds 100,000 couplings. Per op: one chunk of 1,000 records.
func BenchmarkChunkOutcome(b *testing.B) {
	ctx := context.Background()
	st, k := setupCouplings(b)
	b.ReportAllocs()
	for b.Loop() {
		cs := chunkCouplings(k)
		k++
		// The chunk's creates share one intent, their id pairs its payload,
		// as the engine writes it.
		pairs := make([][2]string, len(cs))
		for i, c := range cs {
			pairs[i] = [2]string{c.ERPID, c.CRMID}
		}
		payload, err := json.Marshal(pairs)
		require.NoError(b, err)
		intents := []syncer.Intent{{Mapping: mapping.Customer, Direction: "ToCRM", SourceID: cs[0].ERPID, TargetID: cs[0].CRMID, Op: "creates", Payload: string(payload)}}
		stored, err := st.AddIntents(ctx, intents)
		require.NoError(b, err)
		ids := make([]int64, len(stored))
		for i, in := range stored {
			ids[i] = in.ID
		}
		require.NoError(b, st.Atomically(ctx, func(ctx context.Context, tx syncer.Store) error {
			if err := tx.PutCouplings(ctx, cs); err != nil {
				return err
			}
			return tx.DeleteIntents(ctx, ids)
		}))
	}
}

// BenchmarkChunkOutcomesGrouped is the store's cost of a chunk's 1,000 new
// couplings at 100,000 when each chunk commits alone and when five share a
// commit, as a flow's outcomes do (ms/chunk).
func BenchmarkChunkOutcomesGrouped(b *testing.B) {
	for _, group := range []int{1, 5} {
		b.Run(fmt.Sprint(group), func(b *testing.B) {
			ctx := context.Background()
			st, k := setupCouplings(b)
			for b.Loop() {
				chunks := make([][]syncer.Coupling, group)
				for i := range chunks {
					chunks[i] = chunkCouplings(k)
					k++
				}
				require.NoError(b, st.Atomically(ctx, func(ctx context.Context, tx syncer.Store) error {
					for _, cs := range chunks {
						if err := tx.PutCouplings(ctx, cs); err != nil {
							return err
						}
					}
					return nil
				}))
			}
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N*group), "ms/chunk")
		})
	}
}

// chunkCouplings is the k-th chunk of 1,000 new couplings: random-looking
// ids, as BC's and the deterministic CRM ids are, with their snapshots.
func chunkCouplings(k int) []syncer.Coupling {
	const page = 1000
	cs := make([]syncer.Coupling, page)
	for i := range cs {
		erp := syncer.DeterministicID("BENCH-ERP", fmt.Sprint(k*page+i))
		cs[i] = syncer.Coupling{Mapping: mapping.Customer, ERPID: erp, CRMID: syncer.DeterministicID(mapping.Customer, erp),
			LastResult: syncer.ResultSuccess, Snapshot: customerSnapshot}
	}
	return cs
}

// setupCouplings is a store holding 100,000 couplings (chunks 0 to 99);
// next is the first chunk not in it.
func setupCouplings(b *testing.B) (st syncer.Store, next int) {
	b.Helper()
	st = setupStore(b)
	for k := range 100 {
		require.NoError(b, st.PutCouplings(context.Background(), chunkCouplings(k)))
	}
	return st, 100
}
