package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/coupler/coupler/internal/store/sqlstore"
)

// errOutsideWork is returned by the FromJob functions outside a running
// job's Work, where there is no client to use.
var errOutsideWork = errors.New("jobs: called outside a running job's Work: use the Queue's methods")

// InsertFromJob enqueues a job from inside a running job's Work, through
// the client working it: a periodic tick fans out one job per mapping (or
// per key range) so that every instance can take a share, each unique on
// its own. Outside Work it is an error.
func InsertFromJob(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) (int64, error) {
	res, err := InsertResultFromJob(ctx, args, opts)
	if err != nil {
		return 0, err
	}
	return res.Job.ID, nil
}

// InsertResultFromJob is InsertFromJob returning River's whole result: a
// job skipped as a duplicate of an unfinished one comes back with
// UniqueSkippedAsDuplicate and that job's row, so that the caller can tell
// its own earlier insert from somebody else's.
func InsertResultFromJob(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error) {
	if sqlstore.InsideSingleWriterTx(ctx) {
		return nil, fmt.Errorf("jobs: insert %s: called inside store.InTx on SQLite, where it would wait for the transaction's own connection: use Queue.InsertTx", args.Kind())
	}
	var (
		res *rivertype.JobInsertResult
		err error
	)
	if c, cerr := river.ClientFromContextSafely[pgx.Tx](ctx); cerr == nil {
		res, err = c.Insert(ctx, args, opts)
	} else if c, cerr := river.ClientFromContextSafely[*sql.Tx](ctx); cerr == nil {
		res, err = c.Insert(ctx, args, opts)
	} else {
		return nil, fmt.Errorf("jobs: insert %s: %w", args.Kind(), errOutsideWork)
	}
	if err != nil {
		return nil, fmt.Errorf("jobs: insert %s: %w", args.Kind(), err)
	}
	return res, nil
}

// ListFromJob lists jobs from inside a running job's Work: a coordinator
// watches the jobs it fanned out. Jobs finished more than a day ago are no
// longer in River's table.
func ListFromJob(ctx context.Context, params *river.JobListParams) ([]*rivertype.JobRow, error) {
	var (
		res *river.JobListResult
		err error
	)
	if c, cerr := river.ClientFromContextSafely[pgx.Tx](ctx); cerr == nil {
		res, err = c.JobList(ctx, params)
	} else if c, cerr := river.ClientFromContextSafely[*sql.Tx](ctx); cerr == nil {
		res, err = c.JobList(ctx, params)
	} else {
		return nil, fmt.Errorf("jobs: list jobs: %w", errOutsideWork)
	}
	if err != nil {
		return nil, fmt.Errorf("jobs: list jobs: %w", err)
	}
	return res.Jobs, nil
}

// Finished reports whether a job in state s will not run again: completed,
// cancelled or discarded.
func Finished(s rivertype.JobState) bool {
	switch s {
	case rivertype.JobStateCompleted, rivertype.JobStateCancelled, rivertype.JobStateDiscarded:
		return true
	}
	return false
}
