package demo

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/coupler/coupler/internal/setup"
)

// printer narrates the steps.
type printer struct {
	w io.Writer
	n int
}

func (p *printer) step(title string) {
	p.n++
	fmt.Fprintf(p.w, "\n[%d] %s\n", p.n, title)
}

func (p *printer) say(format string, args ...any) {
	fmt.Fprintf(p.w, "    "+format+"\n", args...)
}

func (p *printer) check(c setup.Check) {
	mark := map[setup.Status]string{setup.Passed: "ok", setup.Failed: "FAILED", setup.Skipped: "skipped"}[c.Status]
	line := fmt.Sprintf("[%s] %s", mark, c.Name)
	if c.Detail != "" {
		line += ": " + c.Detail
	}
	p.say("%s", line)
	if c.Status == setup.Failed {
		p.say("       %s — %s", c.Reason, c.Fix)
	}
}

// printSummary writes the summary: JSON with opts.JSON, else a table and
// what to do about each failure.
func printSummary(opts Options, s Summary) error {
	if opts.JSON {
		return writeJSON(opts.Out, s)
	}
	w := opts.Out
	fmt.Fprintf(w, "\nSummary of the full synchronisation (demo run %d, %s from start):\n\n", s.Run, s.ElapsedText)
	if err := table(w, s.Mappings, s.Totals); err != nil {
		return err
	}
	if len(s.Incremental) > 0 {
		fmt.Fprintln(w, "\nIncremental run after the edits: only the edited records are written; rows changed in the last\nseconds (coupler's own writes of the full run) are read back once and recognised as unchanged:")
		fmt.Fprintln(w)
		if err := table(w, s.Incremental, MappingSummary{}); err != nil {
			return err
		}
	}
	switch len(s.Failures) {
	case 0:
		fmt.Fprintln(w, "\nNo record failed.")
	case 1:
		fmt.Fprintln(w, "\n1 record failed — on purpose: the demo data holds one invalid record.")
	default:
		fmt.Fprintf(w, "\n%d records failed.\n", len(s.Failures))
	}
	for _, f := range s.Failures {
		rec := f.Record
		if rec == "" {
			rec = "ERP " + orDash(f.ERPID) + " / CRM " + orDash(f.CRMID)
		}
		fmt.Fprintf(w, "  %s %s %s", f.Mapping, f.Direction, rec)
		if f.Field != "" {
			fmt.Fprintf(w, ", field %s", f.Field)
		}
		fmt.Fprintf(w, "\n    %s: %s\n", f.Code, f.Message)
		fmt.Fprintf(w, "  See it:  %s\n", f.See)
		if f.Fix != "" {
			fmt.Fprintf(w, "  Fix it:  %s\n", strings.ReplaceAll(f.Fix, "\n", "\n           "))
		}
	}
	fmt.Fprintf(w, "\nSubmitted CRM orders: %d", len(s.Orders))
	for _, o := range s.Orders {
		if o.Error != "" {
			fmt.Fprintf(w, "\n  %s %s: %s (%s)", o.CRMNumber, o.Name, o.Result, o.Error)
		} else {
			fmt.Fprintf(w, "\n  %s %s: %s ERP sales order %s", o.CRMNumber, o.Name, o.Result, o.ERPNumber)
		}
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "Web UI: %s — sign in as %s / %s\n", s.UIURL, s.AdminUser, s.AdminPassword)
	return nil
}

func table(w io.Writer, rows []MappingSummary, total MappingSummary) error {
	width := len("MAPPING")
	for _, r := range rows {
		width = max(width, len(r.Mapping))
	}
	fmt.Fprintf(w, "  %-*s  %8s  %8s  %9s  %7s  %6s\n", width, "MAPPING", "INSERTED", "MODIFIED", "UNCHANGED", "SKIPPED", "FAILED")
	line := func(r MappingSummary) {
		fmt.Fprintf(w, "  %-*s  %8d  %8d  %9d  %7d  %6d\n", width, r.Mapping, r.Inserted, r.Modified, r.Unchanged, r.Skipped, r.Failed)
	}
	for _, r := range rows {
		line(r)
	}
	if total.Mapping != "" {
		line(total)
	}
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
