package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/coupler/coupler/internal/mapping"
	"github.com/coupler/coupler/internal/setup"
	"github.com/coupler/coupler/internal/store"
	"github.com/coupler/coupler/internal/syncer"
	"github.com/coupler/coupler/internal/syncer/crmside"
	"github.com/coupler/coupler/internal/syncer/erpside"
	"github.com/coupler/coupler/internal/syncer/syncstore"
)

// syncEnv is the store (and, when the command talks to the APIs, the
// engine over both sides) that the sync, couple and mappings commands share.
type syncEnv struct {
	*setupEnv
	st  *syncstore.Store
	eng *syncer.Engine
}

// loadMappings returns the stored mappings, saving the default set on
// first use so that what runs is what `coupler mappings show` prints.
func loadMappings(ctx context.Context, st store.Store) ([]mapping.TableMapping, error) {
	ms, err := st.ListMappings(ctx)
	if err != nil {
		return nil, fmt.Errorf("read the mappings: %w", err)
	}
	if len(ms) > 0 {
		return ms, nil
	}
	ms = mapping.Defaults()
	now := time.Now().UTC()
	for i := range ms {
		ms[i].UpdatedAt = now
		if err := st.PutMapping(ctx, ms[i]); err != nil {
			return nil, fmt.Errorf("save the default mapping %s: %w", ms[i].Name, err)
		}
	}
	return ms, nil
}

// openSyncEnv opens the store; withEngine also connects to both APIs with
// the saved connection, which must be enabled.
func openSyncEnv(ctx context.Context, g *globals, connName string, withEngine bool) (*syncEnv, error) {
	env, err := openSetupEnv(ctx, g)
	if err != nil {
		return nil, err
	}
	se := &syncEnv{setupEnv: env, st: syncstore.New(env.st)}
	if !withEngine {
		return se, nil
	}
	conn, err := env.st.GetConnection(ctx, connName)
	if errors.Is(err, store.ErrNotFound) {
		env.Close()
		return nil, fmt.Errorf("no connection %q is set up: run `coupler setup` first", connName)
	}
	if err != nil {
		env.Close()
		return nil, err
	}
	if !conn.Enabled {
		env.Close()
		return nil, fmt.Errorf("the connection %q is disabled, so nothing synchronises: enable it with `coupler connection enable`", connName)
	}
	opts := setup.DialOptions{Logger: g.log, Pacers: env.svc.Options.Pacers}
	crm, err := setup.DialCRM(ctx, conn, env.box, opts)
	if err != nil {
		env.Close()
		return nil, err
	}
	erp, err := setup.DialERP(ctx, conn, env.box, opts)
	if err != nil {
		env.Close()
		return nil, err
	}
	eng, err := syncer.New(syncer.Options{
		Store: se.st, CRM: crmside.New(crm, 0), ERP: erpside.New(erp, 0), Logger: g.log,
		Mappings: func(ctx context.Context) ([]mapping.TableMapping, error) { return loadMappings(ctx, env.st) },
		Hold:     setup.Hold(env.st, connName),
	})
	if err != nil {
		env.Close()
		return nil, err
	}
	se.eng = eng
	return se, nil
}

func init() {
	register(func(g *globals) *cobra.Command {
		var conn string
		cmd := &cobra.Command{Use: "sync", Short: "Run and inspect synchronisation"}
		cmd.PersistentFlags().StringVar(&conn, "connection", setup.DefaultName, "connection name")
		cmd.AddCommand(syncRunCommand(g, &conn, "run [MAPPING…]", "Synchronise mappings now (all enabled ones when none is named), in dependency order", "manual"))
		cmd.AddCommand(syncRunCommand(g, &conn, "retry [MAPPING…]", "Run again now: failed, non-skipped records are retried first", "retry"))
		cmd.AddCommand(syncStatusCommand(g), syncJobsCommand(g), syncErrorsCommand(g), syncRestoreCommand(g), syncReviewCommand(g, &conn))
		return cmd
	})
}

func syncRunCommand(g *globals, conn *string, use, short, trigger string) *cobra.Command {
	var full, asJSON bool
	var records []string
	c := &cobra.Command{Use: use, Short: short,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			env, err := openSyncEnv(ctx, g, *conn, true)
			if err != nil {
				return err
			}
			defer env.Close()
			ro := syncer.RunOptions{Full: full, Trigger: trigger, ERPIDs: records}
			if full {
				ro.Trigger = "full"
			}
			if len(records) > 0 {
				if len(args) != 1 || full {
					return errors.New("--record needs exactly one MAPPING and no --full: coupler sync run CUSTOMER --record <erp-id>")
				}
				ro.Trigger = "record"
			}
			out := cmd.OutOrStdout()
			if f, ok := out.(*os.File); ok && term.IsTerminal(int(f.Fd())) && !asJSON {
				bar := progressbar.NewOptions(-1, progressbar.OptionSetWriter(cmd.ErrOrStderr()), progressbar.OptionClearOnFinish(),
					progressbar.OptionShowCount(), progressbar.OptionSetDescription("synchronising"))
				ro.Progress = func(m string, done int) {
					bar.Describe(m)
					_ = bar.Set(done)
				}
				defer bar.Finish()
			}
			jobs, err := env.eng.Run(ctx, args, ro)
			if err != nil {
				return err
			}
			if err := printJobs(out, jobs, asJSON); err != nil {
				return err
			}
			for _, j := range jobs {
				if j.Status != "succeeded" || j.Counts.Failed > 0 {
					return &exitError{code: 2, err: errors.New("some records failed: see `coupler sync errors`")}
				}
			}
			return nil
		}}
	c.Flags().BoolVar(&full, "full", false, "read every record, not only changes, and create uncoupled ERP records in the CRM (BC's full synchronisation)")
	c.Flags().BoolVar(&asJSON, "json", false, "print the jobs as JSON")
	c.Flags().StringArrayVar(&records, "record", nil, "synchronise only this ERP record id now (repeatable; creates it in the CRM if uncoupled)")
	return c
}

func syncReviewCommand(g *globals, conn *string) *cobra.Command {
	var asJSON bool
	c := &cobra.Command{Use: "review", Short: "Before the first full synchronisation: per mapping, records on each side and what to do (full synchronisation, couple records, no records)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			env, err := openSyncEnv(cmd.Context(), g, *conn, true)
			if err != nil {
				return err
			}
			defer env.Close()
			lines, err := env.eng.Review(cmd.Context())
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if asJSON {
				return writeJSON(out, lines)
			}
			tw := tabwriter.NewWriter(out, 0, 2, 2, ' ', 0)
			fmt.Fprintln(tw, "MAPPING\tERP RECORDS\tCRM RECORDS\tCOUPLED\tRECOMMENDATION")
			for _, l := range lines {
				fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%s\n", l.Mapping, l.ERPRecords, l.CRMRecords, l.Couplings, l.Recommendation)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			fmt.Fprintln(out, "\"couple records\": run `coupler match MAPPING --dry-run`, then without --dry-run; then `coupler sync run --full`.")
			return nil
		}}
	c.Flags().BoolVar(&asJSON, "json", false, "print as JSON")
	return c
}

type jobJSON struct {
	ID         int64         `json:"id"`
	Mapping    string        `json:"mapping"`
	Trigger    string        `json:"trigger"`
	Status     string        `json:"status"`
	StartedAt  time.Time     `json:"started_at"`
	FinishedAt time.Time     `json:"finished_at"`
	Duration   string        `json:"duration"`
	Counts     syncer.Counts `json:"counts"`
	Message    string        `json:"message,omitempty"`
}

func toJobJSON(j syncer.Job) jobJSON {
	d := ""
	if !j.FinishedAt.IsZero() {
		d = j.FinishedAt.Sub(j.StartedAt).Round(time.Millisecond).String()
	}
	return jobJSON{j.ID, j.Mapping, j.Trigger, j.Status, j.StartedAt, j.FinishedAt, d, j.Counts, j.Message}
}

func printJobs(out io.Writer, jobs []syncer.Job, asJSON bool) error {
	if asJSON {
		list := make([]jobJSON, len(jobs))
		for i, j := range jobs {
			list[i] = toJobJSON(j)
		}
		return writeJSON(out, list)
	}
	tw := tabwriter.NewWriter(out, 0, 2, 2, ' ', 0)
	fmt.Fprintln(tw, "JOB\tMAPPING\tSTATUS\tINSERTED\tMODIFIED\tDELETED\tUNCHANGED\tSKIPPED\tFAILED\tCOUPLED\tUNCOUPLED\tDURATION\tMESSAGE")
	for _, j := range jobs {
		jj := toJobJSON(j)
		c := j.Counts
		fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%s\t%s\n", j.ID, j.Mapping, j.Status, c.Inserted, c.Modified, c.Deleted,
			c.Unchanged, c.Skipped, c.Failed, c.Coupled, c.Uncoupled, jj.Duration, j.Message)
	}
	return tw.Flush()
}

func writeJSON(out io.Writer, v any) error {
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// mappingStatus is one line of `coupler sync status`.
type mappingStatus struct {
	Mapping    string   `json:"mapping"`
	Direction  string   `json:"direction"`
	Enabled    bool     `json:"enabled"`
	Schedule   string   `json:"schedule"`
	Health     string   `json:"health"` // ok, failing, never-run, disabled
	Couplings  int      `json:"couplings"`
	OpenErrors int      `json:"open_errors"`
	Skipped    int      `json:"skipped"`
	LastJob    *jobJSON `json:"last_job,omitempty"`
}

func syncStatusCommand(g *globals) *cobra.Command {
	var asJSON bool
	c := &cobra.Command{Use: "status", Short: "Last job per mapping with its counts, open errors, skipped records and health", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			env, err := openSyncEnv(ctx, g, "", false)
			if err != nil {
				return err
			}
			defer env.Close()
			ms, err := loadMappings(ctx, env.setupEnv.st)
			if err != nil {
				return err
			}
			ordered, err := mapping.Order(ms)
			if err != nil {
				return err
			}
			var rows []mappingStatus
			for _, m := range ordered {
				row := mappingStatus{Mapping: m.Name, Direction: string(m.Direction), Enabled: !m.Disabled, Schedule: m.Schedule().String()}
				if row.Couplings, err = env.st.CountCouplings(ctx, m.Name); err != nil {
					return err
				}
				errs, err := env.st.ListErrors(ctx, syncer.ErrorQuery{Mapping: m.Name, OpenOnly: true})
				if err != nil {
					return err
				}
				row.OpenErrors = len(errs)
				sk, err := env.st.ListCouplings(ctx, syncer.CouplingQuery{Mapping: m.Name, SkippedOnly: true})
				if err != nil {
					return err
				}
				row.Skipped = len(sk)
				jobs, err := env.st.ListJobs(ctx, m.Name, 1)
				if err != nil {
					return err
				}
				switch {
				case m.Disabled:
					row.Health = "disabled"
				case len(jobs) == 0:
					row.Health = "never-run"
				case jobs[0].Status != "succeeded" || row.OpenErrors > 0 || row.Skipped > 0:
					row.Health = "failing"
				default:
					row.Health = "ok"
				}
				if len(jobs) > 0 {
					jj := toJobJSON(jobs[0])
					row.LastJob = &jj
				}
				rows = append(rows, row)
			}
			out := cmd.OutOrStdout()
			if asJSON {
				return writeJSON(out, rows)
			}
			tw := tabwriter.NewWriter(out, 0, 2, 2, ' ', 0)
			fmt.Fprintln(tw, "MAPPING\tDIRECTION\tHEALTH\tCOUPLINGS\tOPEN ERRORS\tSKIPPED\tLAST RUN\tLAST STATUS\tINS/MOD/UNCH/FAIL")
			for _, r := range rows {
				last, st, counts := "never", "-", "-"
				if r.LastJob != nil {
					last = r.LastJob.StartedAt.Local().Format("2006-01-02 15:04:05")
					st = r.LastJob.Status
					c := r.LastJob.Counts
					counts = fmt.Sprintf("%d/%d/%d/%d", c.Inserted, c.Modified, c.Unchanged, c.Failed)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%s\t%s\t%s\n", r.Mapping, r.Direction, r.Health, r.Couplings, r.OpenErrors, r.Skipped, last, st, counts)
			}
			return tw.Flush()
		}}
	c.Flags().BoolVar(&asJSON, "json", false, "print as JSON")
	return c
}

func syncJobsCommand(g *globals) *cobra.Command {
	var asJSON bool
	var m string
	var limit int
	c := &cobra.Command{Use: "jobs", Short: "List synchronisation jobs, newest first", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			env, err := openSyncEnv(cmd.Context(), g, "", false)
			if err != nil {
				return err
			}
			defer env.Close()
			jobs, err := env.st.ListJobs(cmd.Context(), m, limit)
			if err != nil {
				return err
			}
			return printJobs(cmd.OutOrStdout(), jobs, asJSON)
		}}
	c.Flags().BoolVar(&asJSON, "json", false, "print as JSON")
	c.Flags().StringVar(&m, "mapping", "", "only this mapping")
	c.Flags().IntVar(&limit, "limit", 50, "at most this many jobs (0 = all)")
	return c
}

type errorJSON struct {
	ID        int64     `json:"id"`
	Job       int64     `json:"job_id"`
	Mapping   string    `json:"mapping"`
	Direction string    `json:"direction"`
	ERPID     string    `json:"erp_id,omitempty"`
	CRMID     string    `json:"crm_id,omitempty"`
	Field     string    `json:"field,omitempty"`
	Code      string    `json:"code"`
	Message   string    `json:"message"`
	Payload   string    `json:"payload,omitempty"`
	At        time.Time `json:"created_at"`
	Resolved  time.Time `json:"resolved_at,omitzero"`
}

func syncErrorsCommand(g *globals) *cobra.Command {
	var asJSON, all, payload bool
	var m string
	var limit int
	c := &cobra.Command{Use: "errors", Short: "List failed records with their ids, field, the API's message and the payload sent", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			env, err := openSyncEnv(cmd.Context(), g, "", false)
			if err != nil {
				return err
			}
			defer env.Close()
			es, err := env.st.ListErrors(cmd.Context(), syncer.ErrorQuery{Mapping: m, OpenOnly: !all, Limit: limit})
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if asJSON {
				list := make([]errorJSON, len(es))
				for i, e := range es {
					list[i] = errorJSON{e.ID, e.JobID, e.Mapping, e.Direction, e.ERPID, e.CRMID, e.Field, e.Code, e.Message, e.Payload, e.CreatedAt, e.ResolvedAt}
				}
				return writeJSON(out, list)
			}
			if len(es) == 0 {
				fmt.Fprintln(out, "No open errors.")
				return nil
			}
			for _, e := range es {
				state := "open"
				if !e.ResolvedAt.IsZero() {
					state = "resolved " + e.ResolvedAt.Local().Format("2006-01-02 15:04:05")
				}
				fmt.Fprintf(out, "#%d %s %s job %d (%s, %s)\n  ERP %s  CRM %s", e.ID, e.Mapping, e.Direction, e.JobID,
					e.CreatedAt.Local().Format("2006-01-02 15:04:05"), state, orDash(e.ERPID), orDash(e.CRMID))
				if e.Field != "" {
					fmt.Fprintf(out, "  field %s", e.Field)
				}
				fmt.Fprintf(out, "\n  %s: %s\n", e.Code, e.Message)
				if payload && e.Payload != "" {
					fmt.Fprintf(out, "  payload: %s\n", e.Payload)
				}
			}
			return nil
		}}
	c.Flags().BoolVar(&asJSON, "json", false, "print as JSON (with payloads)")
	c.Flags().BoolVar(&all, "all", false, "include resolved errors")
	c.Flags().BoolVar(&payload, "payload", false, "print the payload sent")
	c.Flags().StringVar(&m, "mapping", "", "only this mapping")
	c.Flags().IntVar(&limit, "limit", 100, "at most this many (0 = all)")
	return c
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func syncRestoreCommand(g *globals) *cobra.Command {
	var m string
	c := &cobra.Command{Use: "restore-skipped", Short: "Put skipped records back into synchronisation (the next run retries them)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			env, err := openSyncEnv(ctx, g, "", false)
			if err != nil {
				return err
			}
			defer env.Close()
			ms, err := loadMappings(ctx, env.setupEnv.st)
			if err != nil {
				return err
			}
			if m != "" {
				found := false
				for _, x := range ms {
					if strings.EqualFold(x.Name, m) {
						m, found = x.Name, true
					}
				}
				if !found {
					return fmt.Errorf("mapping %q does not exist (see coupler mappings list)", m)
				}
			}
			cs, err := env.st.ListCouplings(ctx, syncer.CouplingQuery{Mapping: m, SkippedOnly: true})
			if err != nil {
				return err
			}
			for i := range cs {
				cs[i].Skipped, cs[i].FailCount = false, 0
			}
			if len(cs) > 0 {
				if err := env.st.PutCouplings(ctx, cs); err != nil {
					return err
				}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%d skipped record(s) restored; the next run retries them.\n", len(cs))
			return nil
		}}
	c.Flags().StringVar(&m, "mapping", "", "only this mapping (default: all)")
	return c
}
