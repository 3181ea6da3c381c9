package demo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/oauth2"

	"github.com/coupler/coupler/internal/dataverse"
	"github.com/coupler/coupler/internal/mapping"
	"github.com/coupler/coupler/internal/sandbox"
	"github.com/coupler/coupler/internal/store"
	"github.com/coupler/coupler/internal/syncer"
)

// fullSync runs every enabled mapping once in full, in dependency order, as
// `coupler sync run --full` does, with one progress bar per mapping on a
// terminal.
func fullSync(ctx context.Context, eng *syncer.Engine, opts Options, p *printer) ([]syncer.Job, error) {
	ro := syncer.RunOptions{Full: true, Trigger: "full"}
	var bars *barSet
	if opts.Progress {
		bars = &barSet{w: opts.Steps}
		ro.Progress = bars.update
	}
	jobs, err := eng.Run(ctx, nil, ro)
	bars.finish()
	if err != nil {
		return nil, fmt.Errorf("full synchronisation: %w", err)
	}
	for _, j := range jobs {
		if j.Status != "succeeded" {
			p.say("%s %s: %s", j.Mapping, j.Status, j.Message)
		}
	}
	return jobs, nil
}

// barSet draws one progress bar per mapping; the engine reports how many
// records of the running mapping are done (the total is not known ahead).
type barSet struct {
	w   io.Writer
	mu  sync.Mutex
	cur string
	bar *progressbar.ProgressBar
}

func (b *barSet) update(m string, done int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if m != b.cur {
		b.finishLocked()
		b.cur = m
		b.bar = progressbar.NewOptions(-1, progressbar.OptionSetWriter(b.w), progressbar.OptionSetDescription(fmt.Sprintf("    %-20s", m)),
			progressbar.OptionShowCount(), progressbar.OptionSetElapsedTime(true),
			progressbar.OptionThrottle(50*time.Millisecond), progressbar.OptionOnCompletion(func() { fmt.Fprintln(b.w) }))
	}
	_ = b.bar.Set(done)
}

func (b *barSet) finishLocked() {
	if b.bar != nil {
		_ = b.bar.Finish()
		b.bar = nil
	}
}

func (b *barSet) finish() {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.finishLocked()
}

// summarise turns jobs into summary lines and their total.
func summarise(jobs []syncer.Job) ([]MappingSummary, MappingSummary) {
	rows := make([]MappingSummary, 0, len(jobs))
	total := MappingSummary{Mapping: "TOTAL"}
	for _, j := range jobs {
		c := j.Counts
		rows = append(rows, MappingSummary{Mapping: j.Mapping, Status: j.Status, Inserted: c.Inserted, Modified: c.Modified,
			Unchanged: c.Unchanged, Skipped: c.Skipped, Failed: c.Failed, Coupled: c.Coupled, Message: j.Message})
		total.Inserted += c.Inserted
		total.Modified += c.Modified
		total.Unchanged += c.Unchanged
		total.Skipped += c.Skipped
		total.Failed += c.Failed
		total.Coupled += c.Coupled
	}
	return rows, total
}

// failures lists the open errors of the jobs that counted failed records,
// each with the command that shows it and, for the planted record, its fix.
func failures(ctx context.Context, st store.Store, jobs []syncer.Job, bad invalidRecord, opts Options, r sandbox.Ready) ([]Failure, error) {
	flag := dataDirFlag(opts)
	var out []Failure
	for _, j := range jobs {
		if j.Counts.Failed == 0 {
			continue
		}
		es, err := st.ListErrors(ctx, store.ErrorFilter{JobID: j.ID, OpenOnly: true})
		if err != nil {
			return nil, fmt.Errorf("read the errors of job %d: %w", j.ID, err)
		}
		for _, e := range es {
			if e.Code == syncer.CodeConflictResolved {
				continue // a difference recorded for information, not a failed record
			}
			f := Failure{Mapping: e.Mapping, Direction: e.Direction, ERPID: e.ERPID, CRMID: e.CRMID, Field: e.Field,
				Code: e.Code, Message: e.Message, See: fmt.Sprintf("coupler sync errors --mapping %s%s", quoteArg(e.Mapping), flag)}
			if e.Mapping == mapping.Contact && e.ERPID == bad.ID {
				f.Record = "ERP contact " + bad.Number + " (" + bad.Name + ")"
				f.Fix = bad.fix(flag)
			}
			out = append(out, f)
		}
	}
	return out, nil
}

func dataDirFlag(opts Options) string {
	s := " --data-dir " + quoteArg(opts.Config.DataDir)
	if opts.Config.DatabaseURL != "" {
		s += " --database-url …"
	}
	return s
}

// quoteArg quotes a shell argument when it needs it.
func quoteArg(s string) string {
	if s != "" && !strings.ContainsAny(s, " '\"$`\\!*?;&|<>(){}[]#~") {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// incremental edits one customer in the ERP (through the sandbox's
// control endpoint, as a user in the web client) and one account in the
// CRM (as the CRM administrator, not as coupler), then runs the scheduled
// kind of synchronisation: only rows changed since the last run are read.
func incremental(ctx context.Context, eng *syncer.Engine, r sandbox.Ready, p *printer, log *slog.Logger) ([]syncer.Job, error) {
	// Dataverse filters modifiedon to the second: a change in the same
	// second as the full run's high-water mark is read again, not missed,
	// but waiting one second makes the demo's point cleaner.
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-time.After(1100 * time.Millisecond):
	}
	erpBase := r.ERPURL[:strings.Index(r.ERPURL, "/v2.0/")]
	const phone = "+44 1223 555 010"
	body, _ := json.Marshal(map[string]string{"phoneNumber": phone})
	req, err := http.NewRequestWithContext(ctx, http.MethodPatch, erpBase+"/_sandbox/customers/10000", strings.NewReader(string(body)))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("edit customer 10000 in the sandbox ERP: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("the sandbox ERP refused the edit of customer 10000: %s", resp.Status)
	}
	p.say("ERP: customer 10000 Adatum Corporation, phone → %s", phone)

	pw := oauth2.Config{ClientID: r.CRMClientID, ClientSecret: r.CRMClientSecret, Scopes: []string{r.CRMScope},
		Endpoint: oauth2.Endpoint{TokenURL: r.TokenURL, AuthStyle: oauth2.AuthStyleInParams}}
	tok, err := pw.PasswordCredentialsToken(ctx, r.CRMAdminUser, r.CRMAdminPassword)
	if err != nil {
		return nil, fmt.Errorf("sign in to the sandbox CRM as its administrator: %w", err)
	}
	admin, err := dataverse.New(ctx, dataverse.Config{URL: r.CRMURL, TokenSource: oauth2.StaticTokenSource(tok), Logger: log})
	if err != nil {
		return nil, err
	}
	var accID, accName string
	err = admin.List(ctx, "accounts", dataverse.Query{Select: []string{"accountid", "name"}, Filter: "accountnumber eq '20000'", Top: 1},
		func(pg dataverse.Page) error {
			for _, rec := range pg.Records {
				accID, accName = rec.String("accountid"), rec.String("name")
			}
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("find the CRM account of customer 20000: %w", err)
	}
	if accID == "" {
		return nil, errors.New("the sandbox CRM has no account numbered 20000 after the full synchronisation")
	}
	const site = "https://www.treyresearch.example"
	if err := admin.Update(ctx, "accounts", dataverse.ID(accID), map[string]any{"websiteurl": site}, ""); err != nil {
		return nil, fmt.Errorf("edit account %s in the sandbox CRM: %w", accID, err)
	}
	p.say("CRM: account %s (customer 20000), website → %s", accName, site)

	jobs, err := eng.Run(ctx, nil, syncer.RunOptions{Trigger: "manual"})
	if err != nil {
		return nil, fmt.Errorf("incremental synchronisation: %w", err)
	}
	return jobs, nil
}
