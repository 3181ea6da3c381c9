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

// InsertFromJob enqueues a job from inside a running job's Work, through
// the client working it: a periodic tick fans out one job per mapping (or
// per key range) so that every instance can take a share, each unique on
// its own. Outside Work it is an error.
func InsertFromJob(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) (int64, error) {
	if sqlstore.InsideSingleWriterTx(ctx) {
		return 0, fmt.Errorf("jobs: insert %s: called inside store.InTx on SQLite, where it would wait for the transaction's own connection: use Queue.InsertTx", args.Kind())
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
		return 0, errors.New("jobs: InsertFromJob called outside a running job's Work: use Queue.Insert")
	}
	if err != nil {
		return 0, fmt.Errorf("jobs: insert %s: %w", args.Kind(), err)
	}
	return res.Job.ID, nil
}
