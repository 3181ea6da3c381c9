package syncer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/coupler/coupler/internal/mapping"
)

// Side names used in cursors, intents and errors.
const (
	SideERP = "erp"
	SideCRM = "crm"
)

// Results of a coupling's last synchronisation.
const (
	ResultSuccess = "Success"
	ResultFailure = "Failure"
)

// Error codes the engine itself records (API errors keep the API's code).
const (
	CodeConflict           = "Conflict"
	CodeConflictResolved   = "ConflictResolved"
	CodeDestinationDeleted = "DestinationDeleted"
	CodeSourceDeleted      = "SourceDeleted"
	CodeTransform          = "InvalidValue"
	CodeSkipped            = "Skipped"
	CodeBatchFailed        = "BatchFailed"
	CodeAmbiguous          = "AmbiguousMatch"
)

// Options wire an Engine.
type Options struct {
	Store    Store
	CRM, ERP Side
	// Mappings returns the mappings in force (from the store, or defaults).
	Mappings func(ctx context.Context) ([]mapping.TableMapping, error)
	Logger   *slog.Logger
	Clock    func() time.Time
	// Overlap is how far before the high-water mark each incremental read
	// starts, so that ties and clock skew lose nothing (default 5 s).
	Overlap time.Duration
	// Concurrency bounds the batches in flight per mapping (default 4).
	Concurrency int
	// BatchSize caps each $batch below the side's own limit (0 = the limit).
	BatchSize int
	// Hold, when set, is asked before every batch is written; an error
	// stops the run there (the batches already written stay written and
	// coupled). Disabling the connection makes it answer an error, so a
	// running job finishes its current batch and stops.
	Hold func(ctx context.Context) error
	// ChunkRecords, when positive, lets PlanFull divide the full
	// synchronisation of a table of at least twice as many records into
	// key ranges of about this many, run as separate jobs (0 = never).
	ChunkRecords int
}

// Engine synchronises mappings between the two sides.
type Engine struct {
	opts Options
	log  *slog.Logger
	now  func() time.Time

	echoMu    sync.Mutex
	echoMarks map[string]time.Time // mapping → latest CRM modifiedon coupler wrote (see syncTable)

	selfOnce sync.Once
	crmSelf  string
	selfErr  error

	holdMax int // see holdIndexMax
}

// New checks the options and returns an engine.
func New(opts Options) (*Engine, error) {
	switch {
	case opts.Store == nil:
		return nil, errors.New("syncer: Options.Store is nil")
	case opts.CRM == nil || opts.ERP == nil:
		return nil, errors.New("syncer: Options.CRM and Options.ERP are required")
	case opts.Mappings == nil:
		return nil, errors.New("syncer: Options.Mappings is nil")
	case opts.Logger == nil:
		return nil, errors.New("syncer: Options.Logger is nil: pass the program's *slog.Logger")
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if opts.Overlap == 0 {
		opts.Overlap = 5 * time.Second
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 4
	}
	return &Engine{opts: opts, log: opts.Logger, now: opts.Clock, holdMax: holdIndexMax}, nil
}

// Mappings returns the mappings in force.
func (e *Engine) Mappings(ctx context.Context) ([]mapping.TableMapping, error) {
	return e.opts.Mappings(ctx)
}

// RunOptions say how a run is started.
type RunOptions struct {
	// Full reads every record (not only changes since the high-water mark)
	// and creates uncoupled ERP records in the CRM even when the mapping
	// synchronises only coupled records, as BC's full synchronisation.
	Full    bool
	Trigger string // "manual", "schedule", "full", "retry"
	// Progress, when set, is told how many records of a mapping are done.
	Progress func(mapping string, done int)
	// ERPIDs, when set, synchronises only these ERP records ("sync now"
	// for one record) instead of reading changes.
	ERPIDs []string
	// Chunk, when set, writes only this key range of a full
	// synchronisation (see RunChunk).
	Chunk *Chunk
	// Closing marks the closing run of a divided full synchronisation
	// (see PlanFull): the plan coupled by match fields already, so the run
	// does not match again, and it leaves coupler's own writes (the
	// chunks') out of its CRM read as an incremental run does.
	Closing bool
	// Note is added to the message of each job of the run (the closing
	// run of a divided full synchronisation sums up its chunks there).
	Note string
}

// ErrUnknownMapping is returned when a run names a mapping that does not exist.
var ErrUnknownMapping = errors.New("unknown mapping")

// Wanted resolves the names a run was asked for (case-insensitively) to
// the mappings' own names; an empty set means every enabled mapping. A
// name that matches no mapping is an ErrUnknownMapping naming it.
func Wanted(all []mapping.TableMapping, names []string) (map[string]bool, error) {
	want := map[string]bool{}
	for _, n := range names {
		found := false
		for _, m := range all {
			if strings.EqualFold(m.Name, n) {
				want[m.Name], found = true, true
			}
		}
		if !found {
			return nil, fmt.Errorf("mapping %q: %w (see coupler mappings list)", n, ErrUnknownMapping)
		}
	}
	return want, nil
}

// Run synchronises the named mappings (all enabled ones when none is
// named) in dependency order and returns one job per mapping run. A
// failure of one mapping is recorded in its job; the others still run.
// A header's line mappings run with it, except disabled ones, which run
// only when named.
func (e *Engine) Run(ctx context.Context, names []string, ro RunOptions) ([]Job, error) {
	all, err := e.opts.Mappings(ctx)
	if err != nil {
		return nil, fmt.Errorf("load mappings: %w", err)
	}
	ordered, err := mapping.Order(all)
	if err != nil {
		return nil, err
	}
	want, err := Wanted(all, names)
	if err != nil {
		return nil, err
	}
	if ro.Trigger == "" {
		ro.Trigger = "manual"
		if ro.Full {
			ro.Trigger = "full"
		}
	}
	res := newResolver(e, all)
	var jobs []Job
	for i := range ordered {
		m := &ordered[i]
		if len(want) > 0 && !want[m.Name] {
			continue
		}
		if len(want) == 0 && m.Disabled {
			continue
		}
		if m.Parent != "" && (len(want) == 0 || want[m.Parent]) {
			continue // run with its header mapping
		}
		if err := ctx.Err(); err != nil {
			return jobs, err
		}
		var lines []*mapping.TableMapping
		for j := range ordered {
			c := &ordered[j]
			if c.Parent != m.Name || (c.Disabled && !want[c.Name]) || (len(want) > 0 && !want[c.Name] && !want[m.Name]) {
				continue
			}
			lines = append(lines, c)
		}
		// The header run keeps the ERP ids it wrote only when lines follow:
		// a full run of 1,000,000 customers held them all for nothing.
		job, headers := e.runOne(ctx, m, ro, res, nil, len(lines) > 0)
		jobs = append(jobs, job)
		for _, c := range lines {
			if len(headers) == 0 {
				continue
			}
			cj, _ := e.runOne(ctx, c, ro, res, headers, false)
			jobs = append(jobs, cj)
		}
	}
	return jobs, nil
}

// runOne runs one mapping as one job. For a line mapping, headers are the
// ERP ids of the header records to read lines of (nil = every coupled header);
// keepHeaders makes the run return the ERP ids it wrote, for its lines.
func (e *Engine) runOne(ctx context.Context, m *mapping.TableMapping, ro RunOptions, res *resolver, headers []string, keepHeaders bool) (Job, []string) {
	r := &run{e: e, m: m, ro: ro, res: res, started: e.now().UTC(), keepHeaders: keepHeaders}
	r.commits.st = e.opts.Store
	job, err := e.opts.Store.CreateJob(ctx, Job{Mapping: m.Name, Trigger: ro.Trigger, Status: "running", StartedAt: r.started})
	if err != nil {
		return Job{Mapping: m.Name, Status: "failed", Message: "could not record the job: " + err.Error()}, nil
	}
	r.job = job
	err = r.execute(ctx, headers)
	res.forget(m.Name)
	job.Counts = r.counts
	job.FinishedAt = e.now().UTC()
	job.Status = "succeeded"
	var msgs []string
	if err != nil {
		job.Status = "failed"
		if ctx.Err() != nil {
			job.Status = "cancelled"
		}
		msgs = append(msgs, err.Error())
	}
	if r.outOfScope > 0 {
		msgs = append(msgs, fmt.Sprintf("%d uncoupled record(s) left alone: the mapping synchronises only coupled records (couple them, or run a full synchronisation)", r.outOfScope))
	}
	msgs = append(msgs, r.notes...)
	if ro.Note != "" {
		msgs = append(msgs, ro.Note)
	}
	job.Message = strings.Join(msgs, "; ")
	if uerr := e.opts.Store.UpdateJob(context.WithoutCancel(ctx), job); uerr != nil {
		e.log.Error("could not record the end of a job", "mapping", m.Name, "job", job.ID, "err", uerr)
	}
	e.log.Info("sync job finished", "mapping", m.Name, "job", job.ID, "status", job.Status,
		"inserted", job.Counts.Inserted, "modified", job.Counts.Modified, "unchanged", job.Counts.Unchanged,
		"failed", job.Counts.Failed, "skipped", job.Counts.Skipped, "duration", job.FinishedAt.Sub(job.StartedAt))
	return job, r.headers
}

// echoMark is the latest CRM modification time of coupler's own writes
// for a mapping in earlier runs of this process (zero when unknown, e.g.
// after a restart: the cursor then moves on rows read only, as before).
func (e *Engine) echoMark(mappingName string) time.Time {
	e.echoMu.Lock()
	defer e.echoMu.Unlock()
	return e.echoMarks[mappingName]
}

func (e *Engine) setEchoMark(mappingName string, t time.Time) {
	e.echoMu.Lock()
	defer e.echoMu.Unlock()
	if e.echoMarks == nil {
		e.echoMarks = map[string]time.Time{}
	}
	if t.After(e.echoMarks[mappingName]) {
		e.echoMarks[mappingName] = t
	}
}

func (e *Engine) self(ctx context.Context) (string, error) {
	e.selfOnce.Do(func() { e.crmSelf, e.selfErr = e.opts.CRM.Self(ctx) })
	return e.crmSelf, e.selfErr
}

// idNamespace makes CRM ids of created rows a pure function of (mapping,
// ERP id): replaying a create after a crash upserts the same row.
var idNamespace = uuid.MustParse("5b0c7a8e-2f4d-4c1e-9a57-c0a1e7d5f001")

// DeterministicID is the CRM primary key coupler gives the row it creates
// for an ERP record under a mapping.
func DeterministicID(mappingName, erpID string) string {
	return uuid.NewSHA1(idNamespace, []byte(mappingName+"\x00"+strings.ToLower(erpID))).String()
}

// side returns the side a direction writes to and reads from.
func (e *Engine) sides(toCRM bool) (src, dst Side) {
	if toCRM {
		return e.opts.ERP, e.opts.CRM
	}
	return e.opts.CRM, e.opts.ERP
}

func (e *Engine) batchSize(s Side) int {
	n := s.MaxBatch()
	if e.opts.BatchSize > 0 && e.opts.BatchSize < n {
		n = e.opts.BatchSize
	}
	return max(n, 1)
}

func dirName(toCRM bool) string {
	if toCRM {
		return string(mapping.ToCRM)
	}
	return string(mapping.FromCRM)
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}
