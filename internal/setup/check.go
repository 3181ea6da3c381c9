package setup

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/coupler/coupler/internal/bc"
	"github.com/coupler/coupler/internal/dataverse"
)

// Role ids and role template id the integration user is checked against
// (Business Central's CRM Integration Management: the two integration
// roles shipped by the integration solution, and the System Administrator
// role template).
const (
	RoleIntegrationAdministrator = "8c8d4f51-a72b-e511-80d9-3863bb349780"
	RoleIntegrationUser          = "6f960e32-a72b-e511-80d9-3863bb349780"
	RoleTemplateSystemAdmin      = "627090ff-40a3-4053-8790-584edc5be201"
	// SolutionUniqueName is the integration solution's unique name.
	SolutionUniqueName = "MicrosoftDynamicsNavIntegration"
)

// Status of one check.
type Status string

const (
	Passed  Status = "passed"
	Failed  Status = "failed"
	Skipped Status = "skipped" // an earlier failure made it impossible to run
)

// Check is one line of the connection test's checklist.
type Check struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Status Status `json:"status"`
	Detail string `json:"detail,omitempty"` // what was found
	Reason string `json:"reason,omitempty"` // why it failed
	Fix    string `json:"fix,omitempty"`    // what to do
}

// Checklist is the whole connection test.
type Checklist struct {
	At     time.Time `json:"at"`
	Checks []Check   `json:"checks"`
	Facts  TestFacts `json:"facts"`
}

// OK is true when every check passed.
func (l Checklist) OK() bool {
	for _, c := range l.Checks {
		if c.Status != Passed {
			return false
		}
	}
	return len(l.Checks) > 0
}

// Find returns the check with the id.
func (l Checklist) Find(id string) (Check, bool) {
	for _, c := range l.Checks {
		if c.ID == id {
			return c, true
		}
	}
	return Check{}, false
}

// String prints the checklist, one check a line, with reason and fix.
func (l Checklist) String() string {
	var b strings.Builder
	for _, c := range l.Checks {
		mark := map[Status]string{Passed: "[ok]  ", Failed: "[FAIL]", Skipped: "[skip]"}[c.Status]
		fmt.Fprintf(&b, "%s %s", mark, c.Name)
		if c.Detail != "" {
			fmt.Fprintf(&b, ": %s", c.Detail)
		}
		b.WriteByte('\n')
		if c.Reason != "" {
			fmt.Fprintf(&b, "       reason: %s\n", c.Reason)
		}
		if c.Fix != "" {
			fmt.Fprintf(&b, "       fix: %s\n", c.Fix)
		}
	}
	return b.String()
}

// The checks, in the order they run.
var checkNames = []struct{ id, name string }{
	{"crm.reach", "CRM reachable"},
	{"crm.auth", "CRM authentication"},
	{"crm.whoami", "CRM WhoAmI"},
	{"crm.version", "CRM version compatible"},
	{"crm.user-enabled", "Integration user enabled"},
	{"crm.role-admin", "Integration user holds Integration Administrator"},
	{"crm.role-user", "Integration user holds Integration User"},
	{"crm.not-sysadmin", "Integration user is not System Administrator"},
	{"crm.solution", "Integration solution installed"},
	{"erp.reach", "ERP reachable"},
	{"erp.auth", "ERP authentication"},
	{"erp.company", "ERP company exists"},
	{"erp.currency", "ERP base currency is a CRM transaction currency"},
}

type run struct {
	list  Checklist
	index map[string]int
}

func newRun(at time.Time) *run {
	r := &run{list: Checklist{At: at}, index: map[string]int{}}
	for i, c := range checkNames {
		r.list.Checks = append(r.list.Checks, Check{ID: c.id, Name: c.name, Status: Skipped})
		r.index[c.id] = i
	}
	return r
}

func (r *run) pass(id, detail string) {
	c := &r.list.Checks[r.index[id]]
	c.Status, c.Detail = Passed, detail
}

func (r *run) fail(id, reason, fix string) {
	c := &r.list.Checks[r.index[id]]
	c.Status, c.Reason, c.Fix = Failed, reason, fix
}

// skip explains why a check could not run.
func (r *run) skip(id, reason string) {
	c := &r.list.Checks[r.index[id]]
	if c.Status == Skipped && c.Reason == "" {
		c.Reason = reason
	}
}

// notTried undoes the "reachable" that failCall assumed when the client
// could not even be built (nothing was sent).
func (r *run) notTried(id, stage string) {
	if stage != "auth" {
		return
	}
	c := &r.list.Checks[r.index[id]]
	c.Status, c.Detail, c.Reason = Skipped, "", "not tried: the settings are incomplete"
}

// failCall records a failed call at the right stage: a transport failure
// fails "reach", a refusal fails "auth", anything else fails callID.
func (r *run) failCall(f failure, prefix, callID string) {
	switch f.stage {
	case "reach":
		r.fail(prefix+".reach", f.reason, f.fix)
	case "auth":
		r.pass(prefix+".reach", "")
		r.fail(prefix+".auth", f.reason, f.fix)
	default:
		r.pass(prefix+".reach", "")
		r.pass(prefix+".auth", "")
		r.fail(callID, f.reason, f.fix)
	}
}

// Clients are the two connections a test runs against; a nil client comes
// with the error that prevented building it.
type Clients struct {
	CRM    *dataverse.Client
	CRMErr error
	ERP    *bc.Client
	ERPErr error
}

// RunTest runs every check of the connection test. It never stops at the
// first failure: each check that can still run does, so the user sees
// everything to fix at once.
func RunTest(ctx context.Context, c ConnectionSetup, cl Clients, now time.Time) Checklist {
	r := newRun(now)
	currency := ""
	crmOK := r.testCRM(ctx, c, cl)
	if r.testERP(ctx, c, cl, &currency) && crmOK && currency != "" {
		r.testCurrency(ctx, cl.CRM, currency)
	} else if currency == "" {
		r.skip("erp.currency", "the ERP base currency could not be read")
	} else {
		r.skip("erp.currency", "the CRM could not be queried")
	}
	r.list.Facts.At, r.list.Facts.OK = now, r.list.OK()
	failed := 0
	for _, ch := range r.list.Checks {
		if ch.Status != Passed {
			failed++
		}
	}
	if failed == 0 {
		r.list.Facts.Summary = "all checks passed"
	} else {
		r.list.Facts.Summary = fmt.Sprintf("%d of %d checks did not pass", failed, len(r.list.Checks))
	}
	return r.list
}

func (r *run) testCRM(ctx context.Context, c ConnectionSetup, cl Clients) bool {
	credFields := "crm.user and crm.password"
	switch c.CRM.AuthType {
	case AuthClientSecret:
		credFields = "crm.client-id and crm.client-secret"
	case AuthCertificate:
		credFields = "crm.client-id and crm.certificate"
	}
	if cl.CRM == nil {
		f := classify(cl.CRMErr, "CRM", c.CRM.URL, credFields)
		if f.stage == "call" {
			f.stage = "auth" // the client could not be built: a settings problem
		}
		r.failCall(f, "crm", "crm.whoami")
		r.notTried("crm.reach", f.stage)
		for _, id := range []string{"crm.whoami", "crm.version", "crm.user-enabled", "crm.role-admin", "crm.role-user", "crm.not-sysadmin", "crm.solution"} {
			r.skip(id, "no connection to the CRM")
		}
		return false
	}
	who, err := cl.CRM.WhoAmI(ctx)
	if err != nil {
		r.failCall(classify(err, "CRM", c.CRM.URL, credFields), "crm", "crm.whoami")
		for _, id := range []string{"crm.auth", "crm.whoami", "crm.version", "crm.user-enabled", "crm.role-admin", "crm.role-user", "crm.not-sysadmin", "crm.solution"} {
			r.skip(id, "the CRM could not be reached or refused to sign in")
		}
		return false
	}
	r.pass("crm.reach", c.CRM.URL)
	r.pass("crm.auth", "signed in")
	r.pass("crm.whoami", "user "+who.UserID)
	r.list.Facts.IntegrationUserID = who.UserID

	r.testVersion(ctx, c, cl.CRM)
	user, err := cl.CRM.Retrieve(ctx, "systemusers", dataverse.ID(who.UserID))
	if err != nil {
		f := classify(err, "CRM", c.CRM.URL, credFields)
		r.fail("crm.user-enabled", "cannot read the integration user: "+f.reason, f.fix)
	} else {
		name := userLabel(user, who.UserID)
		if disabled, _ := user["isdisabled"].(bool); disabled {
			r.fail("crm.user-enabled", "the integration user "+name+" is disabled",
				"enable the user in the CRM (Settings > Security > Users), then test again")
		} else {
			r.pass("crm.user-enabled", name)
		}
	}
	r.testRoles(ctx, c, cl.CRM, who.UserID, userLabel(user, who.UserID))
	r.testSolution(ctx, c, cl.CRM)
	return true
}

func userLabel(u dataverse.Record, id string) string {
	for _, k := range []string{"domainname", "internalemailaddress", "fullname"} {
		if s := u.String(k); s != "" {
			return s
		}
	}
	return id
}

func (r *run) testVersion(ctx context.Context, c ConnectionSetup, crm *dataverse.Client) {
	v, err := crm.RetrieveVersion(ctx)
	if err != nil {
		f := classify(err, "CRM", c.CRM.URL, "the CRM settings")
		r.fail("crm.version", "cannot read the CRM version: "+f.reason, f.fix)
		return
	}
	r.list.Facts.CRMVersion = v
	if reason, fix := CheckVersion(v, c.CRM.APIVersion); reason != "" {
		r.fail("crm.version", reason, fix)
		return
	}
	r.pass("crm.version", v)
}

// CheckVersion says whether a CRM reporting serverVersion (RetrieveVersion)
// serves Web API apiVersion; when not, the reason and the fix (the API
// versions it does serve). Empty reason = compatible.
func CheckVersion(serverVersion, apiVersion string) (reason, fix string) {
	major, minor, err := dataverse.MajorMinor(serverVersion)
	if err != nil {
		return fmt.Sprintf("the CRM reports version %q, which is not major.minor", serverVersion),
			"check that crm.url is a Dynamics 365 / Dataverse organisation"
	}
	if apiVersion == "" {
		apiVersion = "9.2"
	}
	amaj, amin, err := dataverse.MajorMinor(apiVersion + ".0")
	if err == nil && major == amaj && minor >= amin {
		return "", ""
	}
	var ok []string
	for _, s := range SupportedAPIVersions {
		if sm, sn, _ := dataverse.MajorMinor(s + ".0"); sm == major && sn <= minor {
			ok = append(ok, s)
		}
	}
	fix = "this CRM version is not supported by coupler (supported Web API versions: " + strings.Join(SupportedAPIVersions, ", ") + ")"
	if len(ok) > 0 {
		fix = "set crm.api-version to " + strings.Join(ok, " or ") + " (run `coupler setup`)"
	}
	return fmt.Sprintf("the CRM runs version %s, which does not serve Web API v%s", serverVersion, apiVersion), fix
}

func (r *run) testSolution(ctx context.Context, c ConnectionSetup, crm *dataverse.Client) {
	version, err := InstalledSolutionVersion(ctx, crm)
	if err != nil {
		f := classify(err, "CRM", c.CRM.URL, "the CRM settings")
		r.fail("crm.solution", "cannot read the installed solutions: "+f.reason, f.fix)
		return
	}
	const fix = "run `coupler connection import-solution` (or answer yes to import-solution in `coupler setup`)"
	if version == "" {
		r.list.Facts.SolutionInstalled = false
		r.fail("crm.solution", "the integration solution "+SolutionUniqueName+" is not installed in the CRM", fix)
		return
	}
	r.list.Facts.SolutionInstalled = true
	if CompareVersions(version, SolutionVersion) < 0 {
		r.fail("crm.solution", "the integration solution "+SolutionUniqueName+" "+version+" is older than the version "+SolutionVersion+" this coupler needs",
			"run `coupler connection import-solution` to upgrade it in place")
		return
	}
	missing, err := missingComponents(ctx, crm)
	if err != nil {
		f := classify(err, "CRM", c.CRM.URL, "the CRM settings")
		r.fail("crm.solution", "cannot read the solution's tables: "+f.reason, f.fix)
		return
	}
	if len(missing) > 0 {
		r.fail("crm.solution", "the integration solution "+SolutionUniqueName+" "+version+" is incomplete: missing "+strings.Join(missing, ", "),
			"run `coupler connection import-solution` to create what is missing")
		return
	}
	r.pass("crm.solution", SolutionUniqueName+" "+version)
}

// CompareVersions orders dotted version numbers ("1.10.0.0" > "1.9.0.0");
// a missing or non-numeric part counts as 0.
func CompareVersions(a, b string) int {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := range max(len(pa), len(pb)) {
		var x, y int
		if i < len(pa) {
			x, _ = strconv.Atoi(pa[i])
		}
		if i < len(pb) {
			y, _ = strconv.Atoi(pb[i])
		}
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	return 0
}
