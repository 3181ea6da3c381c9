package syncer_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/coupler/coupler/internal/mapping"
	"github.com/coupler/coupler/internal/syncer"
	"github.com/coupler/coupler/internal/syncer/memstore"
	"github.com/google/uuid"
)

type env struct {
	st       *memstore.Store
	erp, crm *fakeSide
	eng      *syncer.Engine
	clock    *clock
	ms       []mapping.TableMapping
	logs     *logBuffer // the engine's log, debug level included
}

// logBuffer is the engine's log output; the handler writes from the run's
// goroutines.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

const integrationUser = "u-int"

// setup builds an engine over two fake sides seeded like the Contoso demo
// (salespeople JO and BC, payment terms, two customers) with the default
// mappings SALESPEOPLE, CURRENCY, PAYMENT TERMS, SHIPMENT METHOD, CUSTOMER.
func setup(t *testing.T, edit func(m *mapping.TableMapping)) *env {
	t.Helper()
	c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	e := &env{st: memstore.New(), clock: c, erp: newFakeSide("erp", c, "", 100), crm: newFakeSide("crm", c, integrationUser, 1000), logs: &logBuffer{}}
	e.crm.defaults = map[string]any{"statecode": 0}
	for _, name := range []string{mapping.Salespeople, mapping.Currency, mapping.PaymentTerms, mapping.ShipmentMethod, mapping.Customer} {
		m, ok := mapping.Default(name)
		require.True(t, ok)
		if edit != nil {
			edit(&m)
		}
		e.ms = append(e.ms, m)
	}
	e.erp.put("salespeoplePurchasers", "sp-jo", map[string]any{"code": "JO", "displayName": "J. Olive", "email": "JO@contoso.com", "phoneNo": ""})
	e.erp.put("salespeoplePurchasers", "sp-bc", map[string]any{"code": "BC", "displayName": "Benjamin Chiu", "email": "BC@contoso.com"})
	e.crm.put("systemusers", "u-jo", map[string]any{"internalemailaddress": "jo@contoso.com", "fullname": "Jim Olive", "mobilephone": "+44 1", "isdisabled": false, "islicensed": true, "isintegrationuser": false})
	e.crm.put("systemusers", integrationUser, map[string]any{"internalemailaddress": "coupler@contoso.com", "fullname": "coupler", "isdisabled": false, "islicensed": true, "isintegrationuser": true})
	e.erp.put("paymentTerms", "pt-1", map[string]any{"code": "1M(8D)"})
	e.erp.put("paymentTerms", "pt-2", map[string]any{"code": "14 DAYS"})
	e.erp.put("customers", "c-10000", customer("10000", "Adatum Corporation", "JO", "pt-1"))
	e.erp.put("customers", "c-20000", customer("20000", "Trey Research", "JO", "pt-2"))
	eng, err := syncer.New(syncer.Options{
		Store: e.st, CRM: e.crm, ERP: e.erp, Clock: c.Now, Overlap: 500 * time.Millisecond,
		Logger:   slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Mappings: func(context.Context) ([]mapping.TableMapping, error) { return e.ms, nil },
	})
	require.NoError(t, err)
	e.eng = eng
	return e
}

func customer(no, name, sp, pt string) map[string]any {
	return map[string]any{"number": no, "displayName": name, "addressLine1": "Station Road, 21", "addressLine2": "", "city": "Cambridge",
		"state": "", "country": "GB", "postalCode": "CB1 2FB", "phoneNumber": "", "email": strings.ToLower(strings.Fields(name)[0]) + "@contoso.com",
		"website": "", "salespersonCode": sp, "creditLimit": 0.0, "currencyCode": "GBP", "paymentTermsId": pt,
		"shipmentMethodId": "00000000-0000-0000-0000-000000000000", "blocked": "_x0020_"}
}

func (e *env) run(t *testing.T, full bool, names ...string) map[string]syncer.Job {
	t.Helper()
	jobs, err := e.eng.Run(context.Background(), names, syncer.RunOptions{Full: full})
	require.NoError(t, err)
	out := map[string]syncer.Job{}
	for _, j := range jobs {
		out[j.Mapping] = j
	}
	return out
}

func (e *env) openErrors(t *testing.T, m string) []syncer.SyncError {
	t.Helper()
	es, err := e.st.ListErrors(context.Background(), syncer.ErrorQuery{Mapping: m, OpenOnly: true})
	require.NoError(t, err)
	return es
}

func accountID(erpID string) string { return syncer.DeterministicID(mapping.Customer, erpID) }

// TestRunLogsPhases: at debug level a table run says how long each of its
// steps took, so that a slow run can be placed without a profiler.
func TestRunLogsPhases(t *testing.T) {
	t.Parallel()
	e := setup(t, nil)
	e.run(t, true, mapping.Customer)
	var got []string
	for line := range strings.Lines(e.logs.String()) {
		if strings.Contains(line, `msg="sync phase"`) && strings.Contains(line, "mapping=CUSTOMER") {
			i := strings.Index(line, "phase=")
			require.GreaterOrEqual(t, i, 0, line)
			require.Contains(t, line, "duration=")
			got = append(got, strings.SplitN(line[i+len("phase="):], " duration=", 2)[0])
		}
	}
	require.Equal(t, []string{`"read CRM"`, "match", `"drop out of scope"`, `"ERP to CRM"`, `"ERP deletions"`, `"retry ERP failures"`, `"CRM to ERP"`}, got)
}

func TestFullSyncCouplesAndCreates(t *testing.T) {
	t.Parallel()
	e := setup(t, nil)
	jobs := e.run(t, true)

	sp := jobs[mapping.Salespeople]
	require.Equal(t, "succeeded", sp.Status, sp.Message)
	require.Equal(t, 1, sp.Counts.Coupled, "JO matched by e-mail, case-insensitively")
	require.Equal(t, 1, sp.Counts.Modified, "the coupled salesperson takes the CRM user's name")
	require.Equal(t, "Jim Olive", e.erp.get("salespeoplePurchasers", "sp-jo")["displayName"])
	require.Nil(t, e.erp.get("salespeoplePurchasers", "sp-bc")["phoneNo"], "BC is not coupled: untouched")

	pt := jobs[mapping.PaymentTerms]
	require.Equal(t, 1, pt.Counts.Coupled)
	require.Equal(t, 1, pt.Counts.Skipped)
	require.Contains(t, pt.Message, "14 DAYS")

	cu := jobs[mapping.Customer]
	require.Equal(t, "succeeded", cu.Status, cu.Message)
	require.Equal(t, syncer.Counts{Inserted: 2}, cu.Counts)
	acc := e.crm.get("accounts", accountID("c-10000"))
	require.NotNil(t, acc, "the CRM id is deterministic")
	require.Equal(t, "Adatum Corporation", acc["name"])
	require.Equal(t, "10000", acc["accountnumber"])
	require.Equal(t, "u-jo", acc["_ownerid_value"])
	require.Equal(t, 2, acc["paymenttermscode"])
	require.Equal(t, 3, acc["customertypecode"])
	_, hasCurrency := acc["_transactioncurrencyid_value"]
	require.False(t, hasCurrency, "GBP is the LCY, not a coupled currency")
	require.NotContains(t, e.crm.get("accounts", accountID("c-20000")), "paymenttermscode", "14 DAYS has no CRM option")
	require.Empty(t, e.openErrors(t, mapping.Customer))

	// A second full run creates nothing twice.
	again := e.run(t, true, mapping.Customer)
	require.Equal(t, 0, again[mapping.Customer].Counts.Inserted)
	require.Equal(t, 2, e.crm.count("accounts"))
}

func TestIncrementalReadsOnlyChangesAndSuppressesEchoes(t *testing.T) {
	t.Parallel()
	e := setup(t, nil)
	e.run(t, true)
	e.clock.t = e.clock.t.Add(time.Minute) // past the overlap window

	for i := range 40 {
		e.erp.put("customers", fmt.Sprintf("c-x%02d", i), customer(fmt.Sprintf("X%02d", i), fmt.Sprintf("Extra %d", i), "JO", "pt-1"))
	}
	e.run(t, true, mapping.Customer)
	e.clock.t = e.clock.t.Add(time.Minute)
	quiet := e.run(t, false, mapping.Customer)[mapping.Customer]
	require.Zero(t, quiet.Counts.Inserted+quiet.Counts.Modified+quiet.Counts.Failed, "coupler's own CRM writes are not changes: %s", quiet.Message)

	e.clock.t = e.clock.t.Add(time.Minute)
	e.erp.put("customers", "c-10000", map[string]any{"phoneNumber": "+44 1223 000000"})
	_, before, _ := e.erp.counters("customers")
	j := e.run(t, false, mapping.Customer)[mapping.Customer]
	_, after, _ := e.erp.counters("customers")
	require.LessOrEqual(t, after-before, 2, "the changed customer (and the one at the high-water mark) is read, not the 42")
	require.Equal(t, 1, j.Counts.Modified)
	require.Equal(t, "+44 1223 000000", e.crm.get("accounts", accountID("c-10000"))["telephone1"])

	e.clock.t = e.clock.t.Add(time.Minute)
	e.crm.put("accounts", accountID("c-20000"), map[string]any{"websiteurl": "https://trey.example"})
	j = e.run(t, false, mapping.Customer)[mapping.Customer]
	require.Equal(t, 1, j.Counts.Modified, j.Message)
	require.Equal(t, "https://trey.example", e.erp.get("customers", "c-20000")["website"])

	e.clock.t = e.clock.t.Add(time.Minute)
	j = e.run(t, false, mapping.Customer)[mapping.Customer]
	require.Zero(t, j.Counts.Inserted+j.Counts.Modified, "the ERP write is not read back as a change")
}

// A full run reads every CRM row; the uncoupled ones of a mapping that
// synchronises coupled records only are left alone, visibly, while a change
// to a coupled one in the same run still reaches the ERP.
func TestFullRunLeavesUncoupledCRMRowsAloneVisibly(t *testing.T) {
	t.Parallel()
	e := setup(t, nil)
	e.run(t, true)
	e.clock.t = e.clock.t.Add(time.Minute)

	for i := range 3 {
		e.crm.put("accounts", fmt.Sprintf("acc-crm-only-%d", i), map[string]any{"name": fmt.Sprintf("CRM only %d", i), "customertypecode": 3, "statecode": 0})
	}
	e.crm.put("accounts", accountID("c-20000"), map[string]any{"websiteurl": "https://trey.example"})
	j := e.run(t, true, mapping.Customer)[mapping.Customer]
	require.Equal(t, "succeeded", j.Status, j.Message)
	require.Contains(t, j.Message, "3 uncoupled record(s) left alone")
	require.Equal(t, 1, j.Counts.Modified, j.Message)
	require.Equal(t, "https://trey.example", e.erp.get("customers", "c-20000")["website"])
	require.Equal(t, 2, e.erp.count("customers"), "nothing created in the ERP")
}

func TestConflictRules(t *testing.T) {
	t.Parallel()
	tests := []struct {
		rule     mapping.ConflictRule
		wantCRM  string // CRM phone after the run
		wantERP  string // ERP phone after the run
		wantOpen bool
	}{
		{mapping.ConflictFail, "+1 CRM", "+1 ERP", true},
		{mapping.ConflictERP, "+1 ERP", "+1 ERP", false},
		{mapping.ConflictCRM, "+1 CRM", "+1 CRM", false},
	}
	for _, tt := range tests {
		t.Run(string(tt.rule), func(t *testing.T) {
			t.Parallel()
			e := setup(t, func(m *mapping.TableMapping) { m.Conflict = tt.rule })
			e.run(t, true)
			e.clock.t = e.clock.t.Add(time.Minute)
			e.erp.put("customers", "c-10000", map[string]any{"phoneNumber": "+1 ERP"})
			e.crm.put("accounts", accountID("c-10000"), map[string]any{"telephone1": "+1 CRM"})
			e.run(t, false, mapping.Customer)
			require.Equal(t, tt.wantCRM, e.crm.get("accounts", accountID("c-10000"))["telephone1"])
			require.Equal(t, tt.wantERP, e.erp.get("customers", "c-10000")["phoneNumber"])
			all, err := e.st.ListErrors(context.Background(), syncer.ErrorQuery{Mapping: mapping.Customer})
			require.NoError(t, err)
			require.Len(t, all, 1, "a conflict is always recorded")
			require.Contains(t, all[0].Payload, `"+1 ERP"`, "both values are recorded")
			require.Contains(t, all[0].Payload, `"+1 CRM"`)
			require.Equal(t, tt.wantOpen, all[0].ResolvedAt.IsZero(), all[0].Message)
			require.Contains(t, all[0].Message, string(tt.rule))
		})
	}
}

func TestMergeTakesEachSidesChangedFields(t *testing.T) {
	t.Parallel()
	e := setup(t, func(m *mapping.TableMapping) { m.Conflict = mapping.ConflictMerge })
	e.run(t, true)
	e.clock.t = e.clock.t.Add(time.Minute)
	e.erp.put("customers", "c-10000", map[string]any{"phoneNumber": "+1 ERP"})
	e.crm.put("accounts", accountID("c-10000"), map[string]any{"websiteurl": "https://adatum.example"})
	j := e.run(t, false, mapping.Customer)[mapping.Customer]
	require.Zero(t, j.Counts.Failed, j.Message)
	require.Equal(t, "+1 ERP", e.crm.get("accounts", accountID("c-10000"))["telephone1"])
	require.Equal(t, "https://adatum.example", e.erp.get("customers", "c-10000")["website"])
	require.Equal(t, "https://adatum.example", e.crm.get("accounts", accountID("c-10000"))["websiteurl"])
}

func TestDeletionRules(t *testing.T) {
	t.Parallel()
	tests := []struct {
		rule       mapping.DeletionRule
		wantExists bool
		wantCoupl  bool
		wantOpen   bool
	}{
		{mapping.DeletionFail, false, true, true},
		{mapping.DeletionRestore, true, true, false},
		{mapping.DeletionUncouple, false, false, false},
	}
	for _, tt := range tests {
		t.Run(string(tt.rule), func(t *testing.T) {
			t.Parallel()
			e := setup(t, func(m *mapping.TableMapping) { m.Deletion = tt.rule })
			e.run(t, true)
			e.crm.del("accounts", accountID("c-10000"))
			e.clock.t = e.clock.t.Add(time.Minute)
			e.erp.put("customers", "c-10000", map[string]any{"phoneNumber": "+44 2"})
			e.run(t, false, mapping.Customer)
			require.Equal(t, tt.wantExists, e.crm.get("accounts", accountID("c-10000")) != nil)
			_, err := e.st.GetCouplingByERP(context.Background(), mapping.Customer, "c-10000")
			require.Equal(t, tt.wantCoupl, err == nil)
			all, err := e.st.ListErrors(context.Background(), syncer.ErrorQuery{Mapping: mapping.Customer})
			require.NoError(t, err)
			require.NotEmpty(t, all, "a deletion is never silent")
			require.Equal(t, syncer.CodeDestinationDeleted, all[0].Code)
			require.Contains(t, all[0].Message, string(tt.rule))
			require.Equal(t, tt.wantOpen, all[0].ResolvedAt.IsZero())
		})
	}
}

func TestInvalidValueFailsAloneThenSkipsAndRestores(t *testing.T) {
	t.Parallel()
	e := setup(t, nil)
	e.crm.refuse = func(entity string, op syncer.Op) *syncer.WriteError {
		if name, _ := op.Payload["name"].(string); len(name) > 160 {
			return &syncer.WriteError{Status: 400, Code: "0x80044331", Field: "name", Message: "A validation error occurred. The length of the 'name' attribute of the 'account' entity exceeded the maximum allowed length of '160'."}
		}
		return nil
	}
	e.run(t, true)
	long := strings.Repeat("x", 161)
	e.clock.t = e.clock.t.Add(time.Minute)
	e.erp.put("customers", "c-10000", map[string]any{"displayName": long})
	e.erp.put("customers", "c-20000", map[string]any{"phoneNumber": "+44 3"})
	j := e.run(t, false, mapping.Customer)[mapping.Customer]
	require.Equal(t, 1, j.Counts.Failed)
	require.Equal(t, 1, j.Counts.Modified, "the other record is not blocked")
	es := e.openErrors(t, mapping.Customer)
	require.Len(t, es, 1)
	require.Equal(t, "c-10000", es[0].ERPID)
	require.Equal(t, accountID("c-10000"), es[0].CRMID)
	require.Equal(t, "name", es[0].Field)
	require.Equal(t, "0x80044331", es[0].Code)
	require.Contains(t, es[0].Message, "exceeded the maximum allowed length")
	require.Contains(t, es[0].Payload, long)

	// Retried by the next run although unchanged; the second identical
	// failure skips it (rule skip_after=2), visibly.
	j = e.run(t, false, mapping.Customer)[mapping.Customer]
	require.Equal(t, 1, j.Counts.Failed)
	require.Equal(t, 1, j.Counts.Skipped)
	c, err := e.st.GetCouplingByERP(context.Background(), mapping.Customer, "c-10000")
	require.NoError(t, err)
	require.True(t, c.Skipped)
	j = e.run(t, false, mapping.Customer)[mapping.Customer]
	require.Zero(t, j.Counts.Failed, "a skipped record is not retried")

	e.crm.refuse = nil
	n, err := e.eng.RestoreSkipped(context.Background(), mapping.Customer)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	j = e.run(t, false, mapping.Customer)[mapping.Customer]
	require.Equal(t, 1, j.Counts.Modified, j.Message)
	require.Equal(t, long, e.crm.get("accounts", accountID("c-10000"))["name"])
	require.Empty(t, e.openErrors(t, mapping.Customer), "fixed errors are closed")
}

func TestUncoupledSalespersonFailsWithWhatToDo(t *testing.T) {
	t.Parallel()
	e := setup(t, nil)
	e.erp.put("customers", "c-30000", customer("30000", "School of Fine Art", "BC", "pt-1"))
	j := e.run(t, true)[mapping.Customer]
	require.Equal(t, 2, j.Counts.Inserted)
	require.Equal(t, 1, j.Counts.Failed)
	es := e.openErrors(t, mapping.Customer)
	require.Len(t, es, 1)
	require.Equal(t, "c-30000", es[0].ERPID)
	require.Equal(t, "salespersonCode", es[0].Field)
	require.Equal(t, syncer.CodeTransform, es[0].Code)
	require.Contains(t, es[0].Message, `salespeoplePurchasers "BC" is not coupled`)
	require.Contains(t, es[0].Message, `coupler couple "SALESPEOPLE"`)
	require.Nil(t, e.crm.get("accounts", accountID("c-30000")))
}

func TestCrashAfterWriteIsReconciledWithoutDuplicates(t *testing.T) {
	t.Parallel()
	e := setup(t, func(m *mapping.TableMapping) {
		if m.Name == mapping.Customer {
			m.OnlyCoupled = false
		}
	})
	e.run(t, true)
	// A CRM account created by a user: the ERP create is announced, sent,
	// and the process "dies" before recording the coupling.
	e.clock.t = e.clock.t.Add(time.Minute)
	e.crm.put("accounts", "a-new", map[string]any{"name": "Relecloud", "statecode": 0, "customertypecode": 3, "emailaddress1": "jesse@contoso.com"})
	e.erp.crashAfterWrite = true
	j := e.run(t, false, mapping.Customer)[mapping.Customer]
	require.Equal(t, "failed", j.Status)
	require.Equal(t, 3, e.erp.count("customers"), "the write reached the ERP")
	intents, err := e.st.ListIntents(context.Background(), mapping.Customer)
	require.NoError(t, err)
	require.Len(t, intents, 1)

	e.erp.crashAfterWrite = false
	j = e.run(t, false, mapping.Customer)[mapping.Customer]
	require.Equal(t, "succeeded", j.Status, j.Message)
	require.Equal(t, 1, j.Counts.Coupled, "reconciled by lookup instead of created again")
	require.Equal(t, 3, e.erp.count("customers"), "no duplicate")
	c, err := e.st.GetCouplingByCRM(context.Background(), mapping.Customer, "a-new")
	require.NoError(t, err)
	require.Equal(t, "Relecloud", e.erp.get("customers", c.ERPID)["displayName"])
	intents, err = e.st.ListIntents(context.Background(), mapping.Customer)
	require.NoError(t, err)
	require.Empty(t, intents)
}

func TestCRMCreateReplayUsesTheSameID(t *testing.T) {
	t.Parallel()
	e := setup(t, nil)
	e.crm.crashAfterWrite = true
	jobs := e.run(t, true)
	require.Equal(t, "failed", jobs[mapping.Customer].Status)
	intents, err := e.st.ListIntents(context.Background(), mapping.Customer)
	require.NoError(t, err)
	require.Len(t, intents, 1, "one intent for the chunk's creates")
	require.Equal(t, "creates", intents[0].Op)
	require.JSONEq(t, `[["c-10000",`+strconv.Quote(accountID("c-10000"))+`],["c-20000",`+strconv.Quote(accountID("c-20000"))+`]]`, intents[0].Payload)
	e.crm.crashAfterWrite = false
	jobs = e.run(t, true)
	require.Equal(t, "succeeded", jobs[mapping.Customer].Status, jobs[mapping.Customer].Message)
	require.Equal(t, 2, jobs[mapping.Customer].Counts.Coupled, "both creates reconciled from the intent")
	require.Equal(t, 2, e.crm.count("accounts"), "deterministic ids: the replay is an upsert")
	intents, err = e.st.ListIntents(context.Background(), mapping.Customer)
	require.NoError(t, err)
	require.Empty(t, intents)
	n, err := e.st.CountCouplings(context.Background(), mapping.Customer)
	require.NoError(t, err)
	require.Equal(t, 2, n)
}

func TestMatchDryRunAndManualCoupling(t *testing.T) {
	t.Parallel()
	e := setup(t, nil)
	e.crm.put("accounts", "a-adatum", map[string]any{"name": "ADATUM CORPORATION", "statecode": 0, "customertypecode": 3})
	res, err := e.eng.Match(context.Background(), mapping.Customer, true)
	require.NoError(t, err)
	require.Equal(t, []syncer.MatchPair{{ERPID: "c-10000", CRMID: "a-adatum", On: "displayName=Adatum Corporation"}}, res.Pairs)
	n, err := e.st.CountCouplings(context.Background(), mapping.Customer)
	require.NoError(t, err)
	require.Zero(t, n, "dry run writes nothing")

	_, err = e.eng.Couple(context.Background(), mapping.Customer, "c-20000", "a-adatum")
	require.NoError(t, err)
	_, err = e.eng.Couple(context.Background(), mapping.Customer, "c-10000", "a-adatum")
	require.ErrorIs(t, err, syncer.ErrTaken)
	_, err = e.eng.Couple(context.Background(), mapping.Customer, "c-10000", "a-missing")
	require.ErrorIs(t, err, syncer.ErrNotFound)
	require.NoError(t, e.eng.Decouple(context.Background(), mapping.Customer, "c-20000"))
	res, err = e.eng.Match(context.Background(), mapping.Customer, false)
	require.NoError(t, err)
	require.Len(t, res.Pairs, 1)
	c, err := e.st.GetCouplingByERP(context.Background(), mapping.Customer, "c-10000")
	require.NoError(t, err)
	require.Equal(t, "a-adatum", c.CRMID)
}

func TestJobsAreKept(t *testing.T) {
	t.Parallel()
	e := setup(t, nil)
	e.run(t, true)
	jobs, err := e.st.ListJobs(context.Background(), mapping.Customer, 0)
	require.NoError(t, err)
	require.Len(t, jobs, 1)
	require.Equal(t, "full", jobs[0].Trigger)
	require.False(t, jobs[0].FinishedAt.Before(jobs[0].StartedAt))
	b, _ := json.Marshal(jobs[0].Counts)
	require.JSONEq(t, `{"inserted":2,"modified":0,"deleted":0,"unchanged":0,"skipped":0,"failed":0,"coupled":0,"uncoupled":0}`, string(b))
}

// BenchmarkFullSyncFake measures the engine's own cost per record (fake
// sides in memory, no HTTP): transform, coupling lookups, intents, batches.
func BenchmarkFullSyncFake(b *testing.B) {
	const n = 5000
	for b.Loop() {
		b.StopTimer()
		c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
		erp, crm := newFakeSide("erp", c, "", 100), newFakeSide("crm", c, integrationUser, 1000)
		erp.pageSize = 1000
		erp.put("salespeoplePurchasers", "sp-jo", map[string]any{"code": "JO", "email": "jo@contoso.com"})
		for i := range n {
			erp.put("customers", fmt.Sprintf("c-%05d", i), customer(fmt.Sprintf("%05d", i), fmt.Sprintf("Customer %d", i), "JO", "pt-1"))
		}
		var ms []mapping.TableMapping
		for _, name := range []string{mapping.Salespeople, mapping.Currency, mapping.PaymentTerms, mapping.ShipmentMethod, mapping.Customer} {
			m, _ := mapping.Default(name)
			ms = append(ms, m)
		}
		st := memstore.New()
		_, _ = st.PutCoupling(context.Background(), syncer.Coupling{Mapping: mapping.Salespeople, ERPID: "sp-jo", CRMID: "u-jo", LastResult: "Success"})
		eng, err := syncer.New(syncer.Options{Store: st, CRM: crm, ERP: erp, Clock: c.Now,
			Logger:   slog.New(slog.DiscardHandler),
			Mappings: func(context.Context) ([]mapping.TableMapping, error) { return ms, nil }})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		jobs, err := eng.Run(context.Background(), []string{mapping.Customer}, syncer.RunOptions{Full: true})
		if err != nil || jobs[0].Counts.Inserted != n {
			b.Fatalf("%v %+v", err, jobs)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "records/s")
}

func TestReviewAndSyncOneRecord(t *testing.T) {
	t.Parallel()
	e := setup(t, nil)
	e.crm.put("accounts", "a-x", map[string]any{"name": "Someone Else", "statecode": 0, "customertypecode": 3})
	lines, err := e.eng.Review(context.Background())
	require.NoError(t, err)
	rec := map[string]syncer.ReviewLine{}
	for _, l := range lines {
		rec[l.Mapping] = l
	}
	require.Equal(t, syncer.RecommendCouple, rec[mapping.Customer].Recommendation, "%+v", rec[mapping.Customer])
	require.Equal(t, 2, rec[mapping.Customer].ERPRecords)
	require.Equal(t, syncer.RecommendNone, rec[mapping.Currency].Recommendation)

	e.run(t, true, mapping.Salespeople, mapping.PaymentTerms)
	jobs, err := e.eng.Run(context.Background(), []string{mapping.Customer}, syncer.RunOptions{ERPIDs: []string{"c-20000"}, Trigger: "record"})
	require.NoError(t, err)
	require.Equal(t, 1, jobs[0].Counts.Inserted, jobs[0].Message)
	require.Nil(t, e.crm.get("accounts", accountID("c-10000")), "only the named record")
	require.NotNil(t, e.crm.get("accounts", accountID("c-20000")))
	_, err = e.eng.Run(context.Background(), []string{mapping.Customer}, syncer.RunOptions{ERPIDs: []string{"c-nope"}})
	require.NoError(t, err)
	js, _ := e.st.ListJobs(context.Background(), mapping.Customer, 1)
	require.Equal(t, "failed", js[0].Status)
	require.Contains(t, js[0].Message, "c-nope does not exist")
}

// The match index holds keys hashed and GUIDs packed: a name written in
// another case and spacing still couples, two accounts sharing a name
// leave the customer ambiguous, and ids come back as the CRM wrote them.
func TestMatchAmbiguousWithGUIDs(t *testing.T) {
	t.Parallel()
	e := setup(t, nil)
	adatum, trey1, trey2 := uuid.NewString(), uuid.NewString(), uuid.NewString()
	e.crm.put("accounts", adatum, map[string]any{"name": "  adatum CORPORATION ", "statecode": 0, "customertypecode": 3})
	e.crm.put("accounts", trey1, map[string]any{"name": "Trey Research", "statecode": 0, "customertypecode": 3})
	e.crm.put("accounts", trey2, map[string]any{"name": "TREY RESEARCH", "statecode": 0, "customertypecode": 3})
	res, err := e.eng.Match(context.Background(), mapping.Customer, true)
	require.NoError(t, err)
	require.Equal(t, []syncer.MatchPair{{ERPID: "c-10000", CRMID: adatum, On: "displayName=Adatum Corporation"}}, res.Pairs)
	require.Equal(t, []string{"c-20000"}, res.Ambiguous)

	jobs := e.run(t, true)
	cu := jobs[mapping.Customer]
	require.Equal(t, 1, cu.Counts.Coupled, cu.Message)
	require.Contains(t, cu.Message, "c-20000")
	c, err := e.st.GetCouplingByERP(context.Background(), mapping.Customer, "c-10000")
	require.NoError(t, err)
	require.Equal(t, adatum, c.CRMID)
	c, err = e.st.GetCouplingByERP(context.Background(), mapping.Customer, "c-20000")
	require.NoError(t, err)
	require.Equal(t, accountID("c-20000"), c.CRMID, "an ambiguous customer is not coupled to either account: it gets its own")
}

// A full run of a mapping that synchronises coupled records only keeps no
// set of the uncoupled CRM rows it reads; one with an open error of an
// earlier run is still counted once, not a second time by the retries.
func TestUncoupledCRMRowWithOpenErrorCountedOnce(t *testing.T) {
	t.Parallel()
	e := setup(t, nil)
	e.crm.put("accounts", "a-lone", map[string]any{"name": "Lone Account", "statecode": 0, "customertypecode": 3})
	e.crm.put("accounts", "a-other", map[string]any{"name": "Other Account", "statecode": 0, "customertypecode": 3})
	require.NoError(t, e.st.AddErrors(context.Background(), []syncer.SyncError{{JobID: 999, Mapping: mapping.Customer,
		Direction: string(mapping.FromCRM), CRMID: "a-lone", Code: syncer.CodeTransform, Message: "an earlier run failed", CreatedAt: e.clock.Now()}}))
	cu := e.run(t, true)[mapping.Customer]
	require.Equal(t, "succeeded", cu.Status, cu.Message)
	require.Contains(t, cu.Message, "2 uncoupled record(s) left alone")
}
